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

    /// <summary>
    /// The arguments every batch-norm op takes: γ, β and the running statistics, float32 on x's
    /// device with shape <c>[channels]</c> (<paramref name="channelsOf"/> says where the channel
    /// count comes from, for the message), momentum in [0, 1] and a positive eps.
    /// </summary>
    public static void BatchNormParameters(
        string op,
        Tensor x,
        int channels,
        string channelsOf,
        Tensor gamma,
        Tensor beta,
        Tensor runningMean,
        Tensor runningVar,
        float momentum,
        float eps
    )
    {
        foreach (
            var (name, t) in new[]
            {
                ("gamma", gamma),
                ("beta", beta),
                ("runningMean", runningMean),
                ("runningVar", runningVar),
            }
        )
        {
            Float(op, name, t);
            SameDevice(op, "x", x, name, t);
            if (t.Rank != 1 || t.Shape[0] != channels)
                throw new ArgumentException(
                    $"{op}: '{name}' must have shape [{channels}]{channelsOf}, got {t.Shape}",
                    name
                );
        }
        if (!(momentum >= 0f && momentum <= 1f))
            throw new ArgumentException(
                $"{op}: momentum must be in [0, 1], got {momentum}",
                nameof(momentum)
            );
        if (!(eps > 0f))
            throw new ArgumentException($"{op}: eps must be positive, got {eps}", nameof(eps));
    }
}
