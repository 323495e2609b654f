namespace SpikeEngine;

/// <summary>Argument validation shared by the ops: every message names the op, the argument and the values.</summary>
internal static class Check
{
    public static void Live(string op, string arg, Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t, arg);
        if (t.IsDisposed)
            throw new ObjectDisposedException(
                nameof(Tensor),
                $"{op}: argument '{arg}' was disposed"
            );
    }

    public static void Float(string op, string arg, Tensor t)
    {
        Live(op, arg, t);
        if (t.DType != DType.Float32)
            throw new ArgumentException(
                $"{op}: '{arg}' must be float32, got {t.DType.Name()} ({t.Describe()})",
                arg
            );
    }

    public static void SameDevice(string op, string argA, Tensor a, string argB, Tensor b)
    {
        if (a.Device != b.Device)
            throw new ArgumentException(
                $"{op}: '{argA}' is on {a.Device} but '{argB}' is on {b.Device}; move both to one device",
                argB
            );
    }

    public static void SameShape(string op, string argA, Tensor a, string argB, Tensor b)
    {
        Float(op, argA, a);
        Float(op, argB, b);
        SameDevice(op, argA, a, argB, b);
        if (a.Shape != b.Shape)
            throw new ArgumentException(
                $"{op}: shapes must match, got '{argA}' {a.Shape} and '{argB}' {b.Shape} (no implicit broadcasting)",
                argB
            );
    }

    public static void Rank(string op, string arg, Tensor t, int rank, string layout)
    {
        Float(op, arg, t);
        if (t.Rank != rank)
            throw new ArgumentException(
                $"{op}: '{arg}' must be {layout} ({rank}-D), got shape {t.Shape}",
                arg
            );
    }

    public static void Positive(string op, string arg, int value)
    {
        if (value <= 0)
            throw new ArgumentException($"{op}: '{arg}' must be positive, got {value}", arg);
    }

    public static void NonNegative(string op, string arg, int value)
    {
        if (value < 0)
            throw new ArgumentException($"{op}: '{arg}' must be >= 0, got {value}", arg);
    }

    public static void Finite(string op, string arg, float value)
    {
        if (!float.IsFinite(value))
            throw new ArgumentException($"{op}: '{arg}' must be finite, got {value}", arg);
    }
}
