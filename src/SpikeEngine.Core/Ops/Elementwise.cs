namespace SpikeEngine;

public sealed partial class Tensor
{
    // ------------------------------------------------------------------------------------------
    // Binary

    private static Tensor BinaryOpImpl(string op, BinaryOp kind, Tensor a, Tensor b)
    {
        Check.SameShape(op, "a", a, "b", b);
        var y = EmptyLike(a);
        a.Backend.Binary(kind, a, b, y);
        if (Autograd.IsNeeded(a, b))
            Autograd.Record(y, new BinaryNode(op, kind, a, b));
        return y;
    }

    /// <summary>Elementwise a + b (same shapes).</summary>
    public Tensor Add(Tensor other) => BinaryOpImpl("add", BinaryOp.Add, this, other);

    /// <summary>Elementwise a - b (same shapes).</summary>
    public Tensor Sub(Tensor other) => BinaryOpImpl("sub", BinaryOp.Sub, this, other);

    /// <summary>Elementwise a · b (same shapes).</summary>
    public Tensor Mul(Tensor other) => BinaryOpImpl("mul", BinaryOp.Mul, this, other);

    /// <summary>Elementwise a / b (same shapes).</summary>
    public Tensor Div(Tensor other) => BinaryOpImpl("div", BinaryOp.Div, this, other);

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);

    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);

    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);

    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);

    private sealed class BinaryNode : Node
    {
        private readonly BinaryOp _kind;
        private readonly Tensor? _a;
        private readonly Tensor? _b;

        public BinaryNode(string name, BinaryOp kind, Tensor a, Tensor b)
            : base(name, a, b)
        {
            _kind = kind;
            if (kind is BinaryOp.Mul or BinaryOp.Div)
            {
                _b = Save(b);
                if (kind == BinaryOp.Div || b.RequiresGrad)
                    _a = Save(a);
            }
        }

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var be = g.Backend;
            var needA = Inputs[0]!.RequiresGrad;
            var needB = Inputs[1]!.RequiresGrad;
            Tensor? ga = null,
                gb = null;
            switch (_kind)
            {
                case BinaryOp.Add:
                    ga = needA ? g.Alias() : null;
                    gb = needB ? g.Alias() : null;
                    break;
                case BinaryOp.Sub:
                    ga = needA ? g.Alias() : null;
                    if (needB)
                    {
                        gb = EmptyLike(g);
                        be.Unary(UnaryOp.Neg, g, gb);
                    }
                    break;
                case BinaryOp.Mul:
                    if (needA)
                    {
                        ga = EmptyLike(g);
                        be.Binary(BinaryOp.Mul, g, _b!, ga);
                    }
                    if (needB)
                    {
                        gb = EmptyLike(g);
                        be.Binary(BinaryOp.Mul, g, _a!, gb);
                    }
                    break;
                case BinaryOp.Div:
                    if (needA)
                    {
                        ga = EmptyLike(g);
                        be.Binary(BinaryOp.Div, g, _b!, ga);
                    }
                    if (needB)
                    {
                        // d(a/b)/db = -a/b²
                        gb = EmptyLike(g);
                        be.Binary(BinaryOp.Div, _a!, _b!, gb);
                        be.Binary(BinaryOp.Div, gb, _b!, gb);
                        be.Binary(BinaryOp.Mul, gb, g, gb);
                        be.Unary(UnaryOp.Neg, gb, gb);
                    }
                    break;
                default:
                    throw new NotSupportedException($"{Name}: no gradient for {_kind}");
            }
            return [ga, gb];
        }
    }

    // ------------------------------------------------------------------------------------------
    // Scalar

    private static Tensor ScalarOpImpl(string op, ScalarOp kind, Tensor x, float s)
    {
        Check.Float(op, "x", x);
        Check.Finite(op, "scalar", s);
        var y = EmptyLike(x);
        x.Backend.Scalar(kind, x, s, y);
        if (Autograd.IsNeeded(x))
            Autograd.Record(y, new ScalarNode(op, kind, x, s));
        return y;
    }

    /// <summary>x + s.</summary>
    public Tensor Add(float s) => ScalarOpImpl("add_scalar", ScalarOp.Add, this, s);

    /// <summary>x · s.</summary>
    public Tensor Mul(float s) => ScalarOpImpl("mul_scalar", ScalarOp.Mul, this, s);

    /// <summary>x ^ p.</summary>
    public Tensor Pow(float p) => ScalarOpImpl("pow", ScalarOp.Pow, this, p);

    public static Tensor operator +(Tensor a, float s) => a.Add(s);

    public static Tensor operator +(float s, Tensor a) => a.Add(s);

    public static Tensor operator -(Tensor a, float s) => a.Add(-s);

    public static Tensor operator -(float s, Tensor a) => ScalarOpImpl("rsub", ScalarOp.RSub, a, s);

    public static Tensor operator *(Tensor a, float s) => a.Mul(s);

    public static Tensor operator *(float s, Tensor a) => a.Mul(s);

    public static Tensor operator /(Tensor a, float s)
    {
        if (s == 0f)
            throw new ArgumentException(
                $"div_scalar: division of {a.Describe()} by zero",
                nameof(s)
            );
        return a.Mul(1f / s);
    }

    public static Tensor operator -(Tensor a) => UnaryOpImpl("neg", UnaryOp.Neg, a);

    private sealed class ScalarNode : Node
    {
        private readonly ScalarOp _kind;
        private readonly float _s;
        private readonly Tensor? _x;

        public ScalarNode(string name, ScalarOp kind, Tensor x, float s)
            : base(name, x)
        {
            _kind = kind;
            _s = s;
            if (kind == ScalarOp.Pow)
                _x = Save(x);
        }

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var be = g.Backend;
            switch (_kind)
            {
                case ScalarOp.Add:
                    return [g.Alias()];
                case ScalarOp.Mul:
                {
                    var gx = EmptyLike(g);
                    be.Scalar(ScalarOp.Mul, g, _s, gx);
                    return [gx];
                }
                case ScalarOp.RSub:
                {
                    var gx = EmptyLike(g);
                    be.Unary(UnaryOp.Neg, g, gx);
                    return [gx];
                }
                case ScalarOp.Pow:
                {
                    var gx = EmptyLike(g);
                    be.Scalar(ScalarOp.Pow, _x!, _s - 1f, gx);
                    be.Scalar(ScalarOp.Mul, gx, _s, gx);
                    be.Binary(BinaryOp.Mul, gx, g, gx);
                    return [gx];
                }
                default:
                    throw new NotSupportedException($"{Name}: no gradient for {_kind}");
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Unary

    private static Tensor UnaryOpImpl(string op, UnaryOp kind, Tensor x)
    {
        Check.Float(op, "x", x);
        var y = EmptyLike(x);
        x.Backend.Unary(kind, x, y);
        if (Autograd.IsNeeded(x))
            Autograd.Record(y, new UnaryNode(op, kind, x, y));
        return y;
    }

    public Tensor Neg() => UnaryOpImpl("neg", UnaryOp.Neg, this);

    public Tensor Exp() => UnaryOpImpl("exp", UnaryOp.Exp, this);

    public Tensor Log() => UnaryOpImpl("log", UnaryOp.Log, this);

    public Tensor Relu() => UnaryOpImpl("relu", UnaryOp.Relu, this);

    public Tensor Sigmoid() => UnaryOpImpl("sigmoid", UnaryOp.Sigmoid, this);

    public Tensor Tanh() => UnaryOpImpl("tanh", UnaryOp.Tanh, this);

    public Tensor Sqrt() => UnaryOpImpl("sqrt", UnaryOp.Sqrt, this);

    public Tensor Abs() => UnaryOpImpl("abs", UnaryOp.Abs, this);

    public Tensor Square() => UnaryOpImpl("square", UnaryOp.Square, this);

    /// <summary>Heaviside step Θ(x) with Θ(0) = 1; its gradient is zero (spiking neurons supply a surrogate).</summary>
    public Tensor Heaviside() => UnaryOpImpl("heaviside", UnaryOp.Heaviside, this);

    private sealed class UnaryNode : Node
    {
        private readonly UnaryOp _kind;
        private readonly Tensor _x;
        private readonly Tensor _y;

        public UnaryNode(string name, UnaryOp kind, Tensor x, Tensor y)
            : base(name, x)
        {
            _kind = kind;
            // Only what the derivative reads is kept.
            var needX = kind is UnaryOp.Log or UnaryOp.Relu or UnaryOp.Abs or UnaryOp.Square;
            var needY = kind is UnaryOp.Exp or UnaryOp.Sigmoid or UnaryOp.Tanh or UnaryOp.Sqrt;
            _x = needX ? Save(x) : null!;
            _y = needY ? Save(y) : null!;
        }

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var gx = EmptyLike(g);
            g.Backend.UnaryBackward(_kind, _x ?? g, _y ?? g, g, gx);
            return [gx];
        }
    }
}
