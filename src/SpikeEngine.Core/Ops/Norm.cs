namespace SpikeEngine;

public static partial class Ops
{
    /// <summary>
    /// Batch normalisation over the channel axis 1 of [N, C, ...] (multi-step inputs fold time into
    /// N, so statistics run over T·N·H·W). In training mode it normalises with batch statistics and
    /// updates <paramref name="runningMean"/>/<paramref name="runningVar"/> (unbiased variance)
    /// with <paramref name="momentum"/>; in eval mode it uses the running statistics.
    /// </summary>
    public static Tensor BatchNorm(
        Tensor x,
        Tensor gamma,
        Tensor beta,
        Tensor runningMean,
        Tensor runningVar,
        bool training,
        float momentum = 0.1f,
        float eps = 1e-5f,
        BatchStatistics? statistics = null
    )
    {
        const string op = "batch_norm";
        Check.Float(op, "x", x);
        if (x.Rank < 2)
            throw new ArgumentException($"{op}: x must be [N, C, ...], got {x.Shape}", nameof(x));
        var c = x.Shape[1];
        Check.BatchNormParameters(
            op,
            x,
            c,
            $" (channels of x {x.Shape})",
            gamma,
            beta,
            runningMean,
            runningVar,
            momentum,
            eps
        );
        var n = x.Shape[0];
        var inner = (int)x.Shape.Product(2, x.Rank);
        if (!training)
        {
            // y = γ (x - μ) / sqrt(σ² + ε) + β as one per-channel affine map.
            // The statistics are constants here; the scope ends before the recorded op (disposing a
            // NoGrad handle twice would leave recording off for the thread).
            Tensor std,
                scale,
                shift;
            using (GradMode.NoGrad())
            {
                std = (runningVar + eps).Sqrt();
                scale = gamma / std;
                using var shiftPart = runningMean * scale;
                shift = beta - shiftPart;
            }
            using (std)
            using (scale)
            using (shift)
                return ChannelAffineEval(x, gamma, beta, scale, shift, runningMean, std);
        }
        if ((long)n * inner < 2)
            throw new ArgumentException(
                $"{op}: training needs more than one value per channel, got x {x.Shape}",
                nameof(x)
            );
        var y = Tensor.EmptyLike(x);
        var (mean, invStd) = BatchNormStep(
            op,
            x,
            gamma,
            beta,
            y,
            runningMean,
            runningVar,
            n,
            c,
            inner,
            momentum,
            eps,
            statistics
        );
        if (Autograd.IsNeeded(x, gamma, beta))
            Autograd.Record(y, new BatchNormNode(x, gamma, beta, mean, invStd, n, c, inner));
        mean.Dispose();
        invStd.Dispose();
        return y;
    }

    // Eval mode: an affine map whose gradient reaches x, γ and β (running stats are constants).
    private static Tensor ChannelAffineEval(
        Tensor x,
        Tensor gamma,
        Tensor beta,
        Tensor scale,
        Tensor shift,
        Tensor runningMean,
        Tensor std
    )
    {
        var y = Tensor.EmptyLike(x);
        var outer = x.Shape[0];
        var c = x.Shape[1];
        var inner = (int)x.Shape.Product(2, x.Rank);
        x.Backend.ChannelAffine(x, scale, shift, outer, c, inner, y);
        if (Autograd.IsNeeded(x, gamma, beta))
            Autograd.Record(
                y,
                new BatchNormEvalNode(x, gamma, beta, runningMean, std, outer, c, inner)
            );
        return y;
    }

    private sealed class BatchNormEvalNode : Node
    {
        private readonly Tensor _x;
        private readonly Tensor _gamma;
        private readonly Tensor _mean;
        private readonly Tensor _std;
        private readonly int _outer,
            _c,
            _inner;

        public BatchNormEvalNode(
            Tensor x,
            Tensor gamma,
            Tensor beta,
            Tensor mean,
            Tensor std,
            int outer,
            int c,
            int inner
        )
            : base("batch_norm_eval", x, gamma, beta)
        {
            _x = Save(x);
            _gamma = Save(gamma);
            _mean = Save(mean);
            _std = Save(std);
            (_outer, _c, _inner) = (outer, c, inner);
        }

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var be = g.Backend;
            Tensor? gx = null,
                gg = null,
                gb = null;
            using var scale = Tensor.EmptyLike(_gamma);
            be.Binary(BinaryOp.Div, _gamma, _std, scale);
            if (Inputs[0]!.RequiresGrad)
            {
                gx = Tensor.EmptyLike(g);
                be.ChannelAffine(g, scale, null, _outer, _c, _inner, gx);
            }
            if (Inputs[1]!.RequiresGrad)
            {
                // dγ = Σ g · (x - μ)/std
                using var inv = Tensor.EmptyLike(_std);
                be.Scalar(ScalarOp.Pow, _std, -1f, inv);
                using var negMeanInv = Tensor.EmptyLike(_std);
                be.Binary(BinaryOp.Mul, _mean, inv, negMeanInv);
                be.Unary(UnaryOp.Neg, negMeanInv, negMeanInv);
                using var xhat = Tensor.EmptyLike(g);
                be.ChannelAffine(_x, inv, negMeanInv, _outer, _c, _inner, xhat);
                be.Binary(BinaryOp.Mul, xhat, g, xhat);
                gg = ChannelSum(xhat, _outer, _c, _inner);
            }
            if (Inputs[2]!.RequiresGrad)
                gb = ChannelSum(g, _outer, _c, _inner);
            return [gx, gg, gb];
        }
    }

    private sealed class BatchNormNode : Node
    {
        private readonly Tensor _x;
        private readonly Tensor _gamma;
        private readonly Tensor _mean;
        private readonly Tensor _invStd;
        private readonly int _n,
            _c,
            _inner;

        public BatchNormNode(
            Tensor x,
            Tensor gamma,
            Tensor beta,
            Tensor mean,
            Tensor invStd,
            int n,
            int c,
            int inner
        )
            : base("batch_norm", x, gamma, beta)
        {
            _x = Save(x);
            _gamma = Save(gamma);
            _mean = Save(mean);
            _invStd = Save(invStd);
            (_n, _c, _inner) = (n, c, inner);
        }

        /// <summary>Generic: the input (a conv's output), float32.</summary>
        protected internal override long GenericBytesIn(StorageLedger ledger) =>
            ledger.Float32(Inputs[0]);

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var gx = Inputs[0]!.RequiresGrad ? Overwritable(g) : Tensor.EmptyLike(g);
            var gg = Tensor.Empty(new Shape(_c), g.Device);
            var gb = Tensor.Empty(new Shape(_c), g.Device);
            g.Backend.BatchNormBackward(_x, g, _gamma, _mean, _invStd, gx, gg, gb, _n, _c, _inner);
            return
            [
                Inputs[0]!.RequiresGrad ? gx : Drop(gx),
                Inputs[1]!.RequiresGrad ? gg : Drop(gg),
                Inputs[2]!.RequiresGrad ? gb : Drop(gb),
            ];
        }

        private static Tensor? Drop(Tensor t)
        {
            t.Dispose();
            return null;
        }
    }
}
