namespace SpikeEngine.Distributed;

/// <summary>How an all-reduce combines the ranks' values.</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum over the ranks.</summary>
    Sum,

    /// <summary>Element-wise sum divided by the number of ranks.</summary>
    Mean,
}

/// <summary>
/// A fixed set of processes (ranks 0 … Size−1) that run the same program and meet in
/// collectives. Every rank must call the same collectives in the same order. A collective that
/// does not complete within <see cref="Timeout"/> throws <see cref="RankLostException"/> naming
/// the ranks that stopped answering; the group is unusable afterwards.
/// </summary>
public interface IProcessGroup : IDisposable
{
    /// <summary><c>mpi</c> or <c>nccl</c>.</summary>
    string Kind { get; }

    /// <summary>This process's rank.</summary>
    int Rank { get; }

    /// <summary>Number of ranks.</summary>
    int Size { get; }

    /// <summary>Longest wait for one collective before the group reports a lost rank.</summary>
    TimeSpan Timeout { get; }

    /// <summary>All-reduces host values in place (metrics, control).</summary>
    void AllReduce(Span<double> values, ReduceOp op);

    /// <summary>All-reduces host values in place.</summary>
    void AllReduce(Span<float> values, ReduceOp op);

    /// <summary>Overwrites <paramref name="values"/> on every rank with rank <paramref name="root"/>'s.</summary>
    void Broadcast(Span<byte> values, int root);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>
    /// Starts an in-place all-reduce of float32 tensors (a gradient bucket) and returns at once;
    /// <see cref="CollectiveWork.Wait"/> completes it. <paramref name="what"/> names it in errors.
    /// </summary>
    CollectiveWork AllReduceAsync(IReadOnlyList<Tensor> tensors, ReduceOp op, string what);

    /// <summary>Overwrites float32 tensors on every rank with rank <paramref name="root"/>'s.</summary>
    void Broadcast(IReadOnlyList<Tensor> tensors, int root);
}

/// <summary>A collective in flight.</summary>
public abstract class CollectiveWork
{
    /// <summary>Blocks until the collective has completed and its results are in place.</summary>
    public abstract void Wait();

    /// <summary>Time from start to completion (so far, while in flight).</summary>
    public abstract TimeSpan Elapsed { get; }
}

/// <summary>
/// A rank stopped answering (it died, hung, or its machine was lost): a collective did not
/// complete within the group's timeout. The message is one line naming the rank(s).
/// </summary>
public sealed class RankLostException(string message) : Exception(message);
