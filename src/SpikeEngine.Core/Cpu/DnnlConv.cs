using System.Runtime.InteropServices;

namespace SpikeEngine.Cpu;

/// <summary>
/// Convolution forward, backward-data and backward-weights on oneDNN (<see cref="Dnnl"/>).
/// The engine's tensors are plain NCHW / OIHW; each primitive is created with "any" layouts so
/// oneDNN picks its blocked ones (nChw8c on AVX2, nChw16c on AVX-512), and reorders move the
/// operands in and the result out through one native arena. Primitives, reorders and memory
/// objects are created once per (geometry, pass) and cached; a call only sets data handles.
/// Calls are serialised: oneDNN parallelises each one over the engine's worker count.
/// </summary>
internal static unsafe class DnnlConv
{
    internal enum Pass
    {
        Forward,
        BackwardData,
        BackwardWeights,
    }

    // One operand: the user's plain memory, the primitive's memory and the reorder between them
    // (none when oneDNN takes the plain layout as it is).
    private sealed class Slot
    {
        public int Arg;
        public IntPtr User;
        public IntPtr Prim;
        public IntPtr Reorder;
        public long Bytes;
    }

    private sealed class Plan
    {
        public IntPtr Primitive;
        public Slot[] Inputs = [];
        public Slot Output = null!;
        public string Impl = "";
        public long ArenaBytes;
    }

    private static readonly object s_lock = new();
    private static readonly Dictionary<(ConvGeometry, Pass), Plan> s_plans = [];
    private static readonly Dictionary<ConvGeometry, IntPtr> s_forwardDescs = [];
    private static void* s_arena;
    private static long s_arenaBytes;
    private static long s_calls;

    /// <summary>Convolution passes that ran on oneDNN (the tests' sentinel).</summary>
    public static long Calls => Interlocked.Read(ref s_calls);

    /// <summary>True when oneDNN is loaded and enabled.</summary>
    public static bool Active => Dnnl.Enabled && Dnnl.IsAvailable;

    /// <summary>The implementation oneDNN picked for a pass (<c>jit:avx2</c>, ...), creating the plan if needed.</summary>
    public static string Implementation(in ConvGeometry g, Pass pass)
    {
        lock (s_lock)
            return PlanFor(g, pass).Impl;
    }

    /// <summary>y = conv(x, w): x (N, C, H, W), w (K, C, KH, KW), y (N, K, OH, OW).</summary>
    public static void Forward(
        float[] x,
        int xo,
        float[] w,
        int wo,
        float[] y,
        int yo,
        in ConvGeometry g
    ) => Run(g, Pass.Forward, [(x, xo), (w, wo)], (y, yo));

    /// <summary>gx = conv_transpose(gy, w): gy (N, K, OH, OW), gx (N, C, H, W).</summary>
    public static void BackwardData(
        float[] gy,
        int go,
        float[] w,
        int wo,
        float[] gx,
        int xo,
        in ConvGeometry g
    ) => Run(g, Pass.BackwardData, [(gy, go), (w, wo)], (gx, xo));

    /// <summary>gw = Σ_n gy ⋆ x: x (N, C, H, W), gy (N, K, OH, OW), gw (K, C, KH, KW).</summary>
    public static void BackwardWeights(
        float[] x,
        int xo,
        float[] gy,
        int go,
        float[] gw,
        int wo,
        in ConvGeometry g
    ) => Run(g, Pass.BackwardWeights, [(x, xo), (gy, go)], (gw, wo));

    private static void Run(
        in ConvGeometry g,
        Pass pass,
        ReadOnlySpan<(float[] Data, int Offset)> inputs,
        (float[] Data, int Offset) output
    )
    {
        lock (s_lock)
        {
            var plan = PlanFor(g, pass);
            if (s_arenaBytes < plan.ArenaBytes)
            {
                NativeMemory.AlignedFree(s_arena);
                s_arena = NativeMemory.AlignedAlloc((nuint)plan.ArenaBytes, 64);
                s_arenaBytes = plan.ArenaBytes;
            }
            var h0 = GCHandle.Alloc(inputs[0].Data, GCHandleType.Pinned);
            var h1 = GCHandle.Alloc(inputs[1].Data, GCHandleType.Pinned);
            var h2 = GCHandle.Alloc(output.Data, GCHandleType.Pinned);
            try
            {
                var arena = (byte*)s_arena;
                var args = stackalloc Dnnl.ExecArg[3];
                var ptrs = stackalloc float*[]
                {
                    (float*)h0.AddrOfPinnedObject() + inputs[0].Offset,
                    (float*)h1.AddrOfPinnedObject() + inputs[1].Offset,
                };
                for (var i = 0; i < 2; i++)
                    args[i] = Bind(plan.Inputs[i], ptrs[i], ref arena, toPrim: true);
                var outPtr = (float*)h2.AddrOfPinnedObject() + output.Offset;
                args[2] = Bind(plan.Output, outPtr, ref arena, toPrim: false);
                Dnnl.Execute(plan.Primitive, new ReadOnlySpan<Dnnl.ExecArg>(args, 3));
                if (plan.Output.Reorder != IntPtr.Zero)
                    RunReorder(plan.Output.Reorder, plan.Output.Prim, plan.Output.User);
            }
            finally
            {
                h0.Free();
                h1.Free();
                h2.Free();
            }
        }
        Interlocked.Increment(ref s_calls);
    }

    // Points the slot's memories at the user's data (and an arena region when a reorder is
    // needed); reorders an input in at once.
    private static Dnnl.ExecArg Bind(Slot s, float* user, ref byte* arena, bool toPrim)
    {
        if (s.Reorder == IntPtr.Zero)
        {
            Dnnl.SetHandle(s.Prim, user);
            return new Dnnl.ExecArg { Arg = s.Arg, Memory = s.Prim };
        }
        Dnnl.SetHandle(s.User, user);
        Dnnl.SetHandle(s.Prim, arena);
        arena += Align(s.Bytes);
        if (toPrim)
            RunReorder(s.Reorder, s.User, s.Prim);
        return new Dnnl.ExecArg { Arg = s.Arg, Memory = s.Prim };
    }

    private static void RunReorder(IntPtr reorder, IntPtr from, IntPtr to)
    {
        Span<Dnnl.ExecArg> a =
        [
            new Dnnl.ExecArg { Arg = Dnnl.ArgFrom, Memory = from },
            new Dnnl.ExecArg { Arg = Dnnl.ArgTo, Memory = to },
        ];
        Dnnl.Execute(reorder, a);
    }

    private static long Align(long bytes) => (bytes + 63) / 64 * 64;

    private static Plan PlanFor(in ConvGeometry g, Pass pass)
    {
        if (s_plans.TryGetValue((g, pass), out var plan))
            return plan;
        plan = Create(g, pass);
        s_plans[(g, pass)] = plan;
        return plan;
    }

    private static Plan Create(in ConvGeometry g, Pass pass)
    {
        Span<long> src = [g.N, g.C, g.H, g.W];
        Span<long> wei = [g.K, g.C, g.KH, g.KW];
        Span<long> dst = [g.N, g.K, g.OutH, g.OutW];
        var anySrc = Dnnl.PlainDesc(src, any: true);
        var anyWei = Dnnl.PlainDesc(wei, any: true);
        var anyDst = Dnnl.PlainDesc(dst, any: true);
        var fwd = ForwardDesc(g, anySrc, anyWei, anyDst);
        IntPtr pd;
        var op = NativeMemory.AllocZeroed(Dnnl.OpDescBytes);
        try
        {
            var p = ParamsOf(g);
            switch (pass)
            {
                case Pass.Forward:
                    pd = fwd;
                    break;
                case Pass.BackwardData:
                    Dnnl.ConvBackwardDataDesc(
                        op,
                        anySrc,
                        anyWei,
                        anyDst,
                        p.Strides,
                        p.Dilates,
                        p.Pad,
                        p.Pad
                    );
                    pd = Dnnl.PrimitiveDesc(op, fwd);
                    break;
                default:
                    Dnnl.ConvBackwardWeightsDesc(
                        op,
                        anySrc,
                        anyWei,
                        anyDst,
                        p.Strides,
                        p.Dilates,
                        p.Pad,
                        p.Pad
                    );
                    pd = Dnnl.PrimitiveDesc(op, fwd);
                    break;
            }
        }
        finally
        {
            NativeMemory.Free(op);
        }
        NativeMemory.Free(anySrc);
        NativeMemory.Free(anyWei);
        NativeMemory.Free(anyDst);
        var plan = new Plan { Primitive = Dnnl.Primitive(pd), Impl = Dnnl.ImplName(pd) };
        (int Arg, int Query, long[] Dims)[] ins;
        (int Arg, int Query, long[] Dims) outp;
        switch (pass)
        {
            case Pass.Forward:
                ins =
                [
                    (Dnnl.ArgSrc, Dnnl.QuerySrcMd, src.ToArray()),
                    (Dnnl.ArgWeights, Dnnl.QueryWeightsMd, wei.ToArray()),
                ];
                outp = (Dnnl.ArgDst, Dnnl.QueryDstMd, dst.ToArray());
                break;
            case Pass.BackwardData:
                ins =
                [
                    (Dnnl.ArgDiffDst, Dnnl.QueryDiffDstMd, dst.ToArray()),
                    (Dnnl.ArgWeights, Dnnl.QueryWeightsMd, wei.ToArray()),
                ];
                outp = (Dnnl.ArgDiffSrc, Dnnl.QueryDiffSrcMd, src.ToArray());
                break;
            default:
                ins =
                [
                    (Dnnl.ArgSrc, Dnnl.QuerySrcMd, src.ToArray()),
                    (Dnnl.ArgDiffDst, Dnnl.QueryDiffDstMd, dst.ToArray()),
                ];
                outp = (Dnnl.ArgDiffWeights, Dnnl.QueryDiffWeightsMd, wei.ToArray());
                break;
        }
        plan.Inputs = [SlotFor(pd, ins[0], true), SlotFor(pd, ins[1], true)];
        plan.Output = SlotFor(pd, outp, false);
        plan.ArenaBytes =
            plan.Inputs.Sum(s => s.Reorder == IntPtr.Zero ? 0 : Align(s.Bytes))
            + (plan.Output.Reorder == IntPtr.Zero ? 0 : Align(plan.Output.Bytes));
        plan.ArenaBytes = Math.Max(plan.ArenaBytes, 64);
        // The primitive descriptors stay alive with the plan: its memories use their descriptors.
        return plan;
    }

    private static Slot SlotFor(IntPtr pd, (int Arg, int Query, long[] Dims) op, bool input)
    {
        var primMd = Dnnl.QueryMd(pd, op.Query);
        var userMd = Dnnl.PlainDesc(op.Dims, any: false);
        var slot = new Slot
        {
            Arg = op.Arg,
            Prim = Dnnl.Memory(primMd),
            Bytes = Dnnl.DescBytes(primMd),
        };
        if (!Dnnl.DescEqual(primMd, userMd))
        {
            slot.User = Dnnl.Memory(userMd);
            var rpd = input ? Dnnl.ReorderDesc(userMd, primMd) : Dnnl.ReorderDesc(primMd, userMd);
            slot.Reorder = Dnnl.Primitive(rpd);
        }
        NativeMemory.Free(userMd);
        return slot;
    }

    private static IntPtr ForwardDesc(in ConvGeometry g, void* src, void* wei, void* dst)
    {
        if (s_forwardDescs.TryGetValue(g, out var pd))
            return pd;
        var op = NativeMemory.AllocZeroed(Dnnl.OpDescBytes);
        try
        {
            var p = ParamsOf(g);
            Dnnl.ConvForwardDesc(op, src, wei, dst, p.Strides, p.Dilates, p.Pad, p.Pad);
            pd = Dnnl.PrimitiveDesc(op, IntPtr.Zero);
        }
        finally
        {
            NativeMemory.Free(op);
        }
        s_forwardDescs[g] = pd;
        return pd;
    }

    // oneDNN's convolution parameters: dilation counts the gaps (0 = dense); the far-side
    // padding equals the near one, so oneDNN's output size (floor division) is the engine's.
    private struct Params
    {
        public fixed long Strides[2];
        public fixed long Dilates[2];
        public fixed long Pad[2];
    }

    private static Params ParamsOf(in ConvGeometry g)
    {
        var p = new Params();
        p.Strides[0] = g.StrideH;
        p.Strides[1] = g.StrideW;
        p.Dilates[0] = g.DilationH - 1;
        p.Dilates[1] = g.DilationW - 1;
        p.Pad[0] = g.PadH;
        p.Pad[1] = g.PadW;
        return p;
    }
}
