namespace SpikeEngine.Nn;

/// <summary>The element-wise connection functions shared by the residual blocks.</summary>
public static class Connect
{
    /// <summary>
    /// SEW's g(A, S) with A the residual branch's spikes and S the identity (SpikingJelly's
    /// <c>sew_function(identity, out, cnf)</c>): ADD = A + S, AND = A·S, IAND = (1 − A)·S.
    /// </summary>
    public static Tensor Sew(SewConnect connect, Tensor residual, Tensor identity)
    {
        ArgumentNullException.ThrowIfNull(residual);
        ArgumentNullException.ThrowIfNull(identity);
        switch (connect)
        {
            case SewConnect.Add:
            {
                var sum = residual + identity;
                // A sum of spikes and spike counts is a spike count (exact in float32 far beyond
                // any depth), so a recomputed segment may keep it as bytes.
                if (residual.CountBound > 0 && identity.CountBound > 0)
                    sum.CountBound = residual.CountBound + identity.CountBound;
                return sum;
            }
            case SewConnect.And:
                return residual * identity;
            case SewConnect.IAnd:
            {
                using var notA = 1f - residual;
                return notA * identity;
            }
            default:
                throw new ArgumentException(
                    $"Connect.Sew: unknown connect function {connect}",
                    nameof(connect)
                );
        }
    }

    internal static void CheckSame(string op, int[] residual, int[] shortcut)
    {
        if (!residual.AsSpan().SequenceEqual(shortcut))
            throw new ArgumentException(
                $"{op}: residual shape {ShapeTrace.Format(residual)} differs from shortcut shape {ShapeTrace.Format(shortcut)}"
            );
    }
}
