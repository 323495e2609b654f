using SpikeEngine.Nn;

namespace SpikeEngine.Training.Models;

/// <summary>
/// Multi-step LIF neuron (ARCHITECTURE.md §4: decay_input, hard reset to 0, detach_reset,
/// Sigmoid(α=4) surrogate), fused: one loop over T per neuron, saving only H for backward.
/// Used by the built-in MNIST DANet until the neuron layer's <c>LifNode</c> is merged; it also
/// counts spikes for the firing-rate hook.
/// </summary>
internal sealed class InterimLif(float tau = 2f, float vThreshold = 1f, float alpha = 4f) : Module
{
    public long LastSpikes { get; private set; }
    public long LastNeuronSteps { get; private set; }

    /// <summary>x: (T, ...) → spikes (T, ...).</summary>
    public Tensor Forward(Tensor x)
    {
        int t = x.Shape[0];
        int m = (int)(x.Numel / t);
        var h = Tensor.Empty(x.Shape.ToArray(), x.Device);
        var s = Tensor.Empty(x.Shape.ToArray(), x.Device);
        float k = 1f / tau;
        long spikes = 0;
        // Per-neuron scan; chunks over M keep the loop parallel and the order of each neuron fixed.
        int chunk = Math.Max(4096, (m + 7) / 8);
        var counts = new long[(m + chunk - 1) / chunk];
        var xArr = x;
        Parallel.For(
            0,
            counts.Length,
            c =>
            {
                var xl = xArr.Span();
                var hl = h.Span();
                var sl = s.Span();
                int begin = c * chunk,
                    end = Math.Min(m, begin + chunk);
                long n = 0;
                for (int i = begin; i < end; i++)
                {
                    float v = 0f;
                    for (int step = 0; step < t; step++)
                    {
                        int j = step * m + i;
                        float hv = v + (xl[j] - v) * k;
                        hl[j] = hv;
                        bool fire = hv >= vThreshold;
                        sl[j] = fire ? 1f : 0f;
                        v = fire ? 0f : hv;
                        n += fire ? 1 : 0;
                    }
                }
                counts[c] = n;
            }
        );
        foreach (var c in counts)
            spikes += c;
        LastSpikes = spikes;
        LastNeuronSteps = x.Numel;
        if (Autograd.IsNeeded(x))
            Autograd.Record(s, new LifNode(x, h, t, m, tau, vThreshold, alpha));
        h.Dispose();
        return s;
    }

    private sealed class LifNode : Node
    {
        private readonly Tensor _h;
        private readonly int _t,
            _m;
        private readonly float _tau,
            _vth,
            _alpha;

        public LifNode(Tensor x, Tensor h, int t, int m, float tau, float vth, float alpha)
            : base("interim_lif", x)
        {
            _h = Save(h);
            (_t, _m, _tau, _vth, _alpha) = (t, m, tau, vth, alpha);
        }

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var gs = gradOutputs[0]!;
            var gx = Tensor.Empty(gs.Shape.ToArray(), gs.Device);
            int t = _t,
                m = _m;
            float k = 1f / _tau,
                beta = 1f - k,
                vth = _vth,
                alpha = _alpha;
            int chunk = Math.Max(4096, (m + 7) / 8);
            int chunks = (m + chunk - 1) / chunk;
            var h = _h;
            Parallel.For(
                0,
                chunks,
                c =>
                {
                    var hl = h.Span();
                    var gsl = gs.Span();
                    var gxl = gx.Span();
                    int begin = c * chunk,
                        end = Math.Min(m, begin + chunk);
                    for (int i = begin; i < end; i++)
                    {
                        float g = 0f; // ∂L/∂H_{t+1}
                        for (int step = t - 1; step >= 0; step--)
                        {
                            int j = step * m + i;
                            float hv = hl[j];
                            float sig = 1f / (1f + MathF.Exp(-alpha * (hv - vth)));
                            float psi = alpha * sig * (1f - sig);
                            float dvdh = hv >= vth ? 0f : 1f; // hard reset, detach_reset: 1 - S
                            float gNew = beta * g * dvdh + gsl[j] * psi;
                            gxl[j] = k * gNew;
                            g = gNew;
                        }
                    }
                }
            );
            return [gx];
        }
    }
}
