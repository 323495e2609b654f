namespace SpikeEngine.Cpu;

// Random fills from the counter-based generator (CounterRng; kernels/random.cu is the CUDA twin).
public sealed partial class CpuBackend
{
    public void FillRandom(Tensor y, RandomKind kind, float a, float b, ulong seed)
    {
        var arr = ArrayOf(y);
        var off = (int)y.Offset;
        Par.For(
            y.Numel,
            1 << 14,
            (s, e) =>
            {
                for (var i = s; i < e; i++)
                {
                    arr[off + i] = kind switch
                    {
                        RandomKind.Uniform => a + (b - a) * CounterRng.Uniform(seed, (ulong)i),
                        RandomKind.Normal => a + b * CounterRng.Normal(seed, (ulong)i),
                        _ => CounterRng.Uniform(seed, (ulong)i) < a ? 1f : 0f,
                    };
                }
            }
        );
    }
}
