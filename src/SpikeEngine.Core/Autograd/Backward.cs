namespace SpikeEngine;

public sealed partial class Tensor
{
    /// <summary>
    /// Back-propagates from this tensor. Without <paramref name="gradient"/> the tensor must have
    /// one element (a loss); gradients accumulate in the <see cref="Grad"/> of leaves that
    /// require them. Each node's saved tensors are released as soon as its backward has run, so
    /// a graph can be differentiated once.
    /// </summary>
    public void Backward(Tensor? gradient = null)
    {
        ThrowIfDisposed("Backward");
        if (!RequiresGrad)
            throw new InvalidOperationException(
                $"Backward: tensor {Describe()} does not require grad (no input of the graph requires grad)"
            );
        if (gradient is null && Numel != 1)
            throw new ArgumentException(
                $"Backward: implicit gradient needs a one-element tensor, got {Describe()}; pass a gradient"
            );
        if (gradient is not null && gradient.Shape != Shape)
            throw new ArgumentException(
                $"Backward: gradient shape {gradient.Shape} differs from the tensor's {Shape}",
                nameof(gradient)
            );
        using var noGrad = GradMode.NoGrad();
        var seed = gradient?.Alias() ?? Full(Shape.ToArray(), 1f, Device);
        if (GradFn is null)
        {
            AccumulateLeaf(this, seed);
            OnGradFinal?.Invoke(this);
            return;
        }
        Run(GradFn, OutputIndex, seed);
    }

    /// <summary>
    /// Back-propagates <paramref name="gradient"/> as the gradient of output
    /// <paramref name="outputIndex"/> of <paramref name="root"/>: <see cref="Backward"/> for a
    /// tensor that was already disposed, so that its storage is not held while the graph runs (a
    /// recomputed segment's replayed output, whose backward needs only its node). The handle
    /// <paramref name="gradient"/> is taken over: it is disposed as soon as the graph has used it,
    /// so the caller must hold no other handle on it to have its storage freed then.
    /// </summary>
    internal static void BackwardFrom(Node root, int outputIndex, Tensor gradient)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(gradient);
        using var noGrad = GradMode.NoGrad();
        Run(root, outputIndex, gradient);
    }

    private static void Run(Node root, int outputIndex, Tensor seed)
    {
        var order = TopologicalOrder(root);
        var pending = PendingHookedLeaves(order);
        var grads = new Dictionary<Node, Tensor?[]>(ReferenceEqualityComparer.Instance);
        Slot(grads, root)[outputIndex] = seed;
        foreach (var node in order)
        {
            if (!grads.TryGetValue(node, out var outs))
            {
                LeafEdgesDone(node, pending);
                continue;
            }
            if (node.IsReleased)
            {
                Dispose(outs);
                throw new InvalidOperationException(
                    $"Backward: node '{node.Name}' already ran its backward and released its saved tensors; "
                        + "a graph can be differentiated once — run the forward pass again"
                );
            }
            grads.Remove(node);
            Tensor?[] ins;
            try
            {
                ins = node.Backward(outs);
            }
            finally
            {
                Dispose(outs);
                node.Release();
            }
            for (var i = 0; i < ins.Length; i++)
            {
                var g = ins[i];
                if (g is null)
                    continue;
                var input = i < node.Inputs.Length ? node.Inputs[i] : null;
                if (
                    input is null
                    || !input.RequiresGrad
                    || input.IsDisposed && input.GradFn is null
                )
                {
                    g.Dispose();
                    continue;
                }
                if (g.Shape != input.Shape)
                    throw new InvalidOperationException(
                        $"Backward: node '{node.Name}' returned a gradient of shape {g.Shape} for input {i} of shape {input.Shape}"
                    );
                if (input.GradFn is null)
                    AccumulateLeaf(input, g);
                else
                {
                    var slot = Slot(grads, input.GradFn);
                    slot[input.OutputIndex] = Accumulate(slot[input.OutputIndex], g);
                }
            }
            LeafEdgesDone(node, pending);
        }
        foreach (var rest in grads.Values)
            Dispose(rest);
    }

    /// <summary>
    /// Called during <see cref="Backward"/> as soon as this leaf's gradient is final for that
    /// pass: every node of the graph that feeds it has run, so <see cref="Grad"/> will not change
    /// again before <c>Backward</c> returns. Nodes run in reverse topological order, so the leaves
    /// used last in the forward pass are final first — the point where data-parallel training can
    /// start reducing a bucket of gradients while backward continues. Leaves only; a leaf the
    /// graph does not reach is not called.
    /// </summary>
    public Action<Tensor>? OnGradFinal { get; set; }

    // For each leaf with a hook: how many (node, input) edges of the graph still have to run.
    private static Dictionary<Tensor, int>? PendingHookedLeaves(List<Node> order)
    {
        Dictionary<Tensor, int>? pending = null;
        foreach (var node in order)
        {
            foreach (var input in node.Inputs)
            {
                if (input is { GradFn: null, RequiresGrad: true, OnGradFinal: not null })
                {
                    pending ??= new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
                    pending[input] = pending.GetValueOrDefault(input) + 1;
                }
            }
        }
        return pending;
    }

    // The node has run (or was skipped, receiving no gradient): its leaf edges are done.
    private static void LeafEdgesDone(Node node, Dictionary<Tensor, int>? pending)
    {
        if (pending is null)
            return;
        foreach (var input in node.Inputs)
        {
            if (input is null || !pending.TryGetValue(input, out var left))
                continue;
            if (left > 1)
                pending[input] = left - 1;
            else
            {
                pending.Remove(input);
                input.OnGradFinal!.Invoke(input);
            }
        }
    }

    private static Tensor?[] Slot(Dictionary<Node, Tensor?[]> grads, Node node)
    {
        if (!grads.TryGetValue(node, out var s))
            grads[node] = s = new Tensor?[node.OutputCount];
        return s;
    }

    private static void Dispose(Tensor?[] ts)
    {
        foreach (var t in ts)
            t?.Dispose();
    }

    // acc + g, in place when acc owns its storage alone (copy-on-write otherwise).
    private static Tensor Accumulate(Tensor? acc, Tensor g)
    {
        if (acc is null)
            return g;
        if (acc.Storage.RefCount == 1)
        {
            acc.Backend.Axpy(1f, g, acc);
            g.Dispose();
            return acc;
        }
        if (g.Storage.RefCount == 1)
        {
            g.Backend.Axpy(1f, acc, g);
            acc.Dispose();
            return g;
        }
        var sum = EmptyLike(acc);
        sum.Backend.Binary(BinaryOp.Add, acc, g, sum);
        acc.Dispose();
        g.Dispose();
        return sum;
    }

    private static void AccumulateLeaf(Tensor leaf, Tensor g)
    {
        if (leaf.Grad is null)
        {
            if (g.Storage.RefCount != 1)
            {
                var own = EmptyLike(g);
                own.Backend.Convert(g, own);
                g.Dispose();
                g = own;
            }
            g.Name = leaf.Name is null ? null : leaf.Name + ".grad";
            leaf.Grad = TensorScope.Unscoped(g);
            return;
        }
        leaf.Grad.Backend.Axpy(1f, g, leaf.Grad);
        g.Dispose();
    }

    // Reverse topological order (outputs before inputs), iterative to survive deep graphs.
    private static List<Node> TopologicalOrder(Node root)
    {
        var visited = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var post = new List<Node>();
        var stack = new Stack<(Node Node, int Next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            var inputs = node.Inputs;
            var pushed = false;
            for (var i = next; i < inputs.Length; i++)
            {
                var child = inputs[i]?.GradFn;
                if (child is not null && inputs[i]!.RequiresGrad && visited.Add(child))
                {
                    stack.Push((node, i + 1));
                    stack.Push((child, 0));
                    pushed = true;
                    break;
                }
            }
            if (!pushed)
                post.Add(node);
        }
        post.Reverse();
        return post;
    }
}
