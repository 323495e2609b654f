using Xunit;

namespace SpikeEngine.Nn.Tests.Neurons;

public class SurrogateTests
{
    public static TheoryData<string> All => new(Names);

    private static readonly string[] Names =
    [
        "Sigmoid",
        "ATan",
        "PiecewiseQuadratic",
        "Erf",
        "SuperSpike",
        "Rect",
    ];

    internal static Surrogate Make(string name, float? alpha = null) =>
        name switch
        {
            "Sigmoid" => alpha is { } a ? Surrogate.Sigmoid(a) : Surrogate.Sigmoid(),
            "ATan" => alpha is { } a ? Surrogate.ATan(a) : Surrogate.ATan(),
            "PiecewiseQuadratic" => alpha is { } a
                ? Surrogate.PiecewiseQuadratic(a)
                : Surrogate.PiecewiseQuadratic(),
            "Erf" => alpha is { } a ? Surrogate.Erf(a) : Surrogate.Erf(),
            "SuperSpike" => alpha is { } a ? Surrogate.SuperSpike(a) : Surrogate.SuperSpike(),
            "Rect" => alpha is { } a ? Surrogate.Rect(a) : Surrogate.Rect(),
            _ => throw new ArgumentException(name),
        };

    [Theory]
    [MemberData(nameof(All))]
    public void GradientIsTheDerivativeOfThePrimitive(string name)
    {
        foreach (var alpha in new float[] { 0.5f, 1f, 2f, 4f })
        {
            var sg = Make(name, alpha);
            const double h = 1e-6;
            for (var i = -120; i <= 120; i++)
            {
                var x = i / 40.0 + 0.0123; // off the kinks of PiecewiseQuadratic/Rect at these α
                var fd = (sg.Primitive(x + h) - sg.Primitive(x - h)) / (2 * h);
                var g64 = sg.Gradient(x);
                Assert.True(
                    Math.Abs(g64 - fd) <= 1e-7 + 1e-7 * Math.Abs(fd),
                    $"{sg} float64 ψ({x}) = {g64}, finite difference {fd}"
                );
                var g32 = sg.Gradient((float)x);
                Assert.True(
                    Math.Abs(g32 - fd) <= 2e-6 + 2e-6 * Math.Abs(fd),
                    $"{sg} float32 ψ({x}) = {g32}, finite difference {fd}"
                );
            }
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void SpanFormMatchesScalarFormAcrossVectorTails(string name)
    {
        var sg = Make(name);
        var x = Enumerable.Range(0, 37).Select(i => (i - 18) / 9f).ToArray();
        var psi = new float[x.Length];
        sg.Gradient(x, psi);
        for (var i = 0; i < x.Length; i++)
            Assert.True(
                Math.Abs(psi[i] - sg.Gradient((double)x[i])) <= 1e-6,
                $"{sg} at {x[i]}: {psi[i]} vs {sg.Gradient((double)x[i])}"
            );
    }

    [Fact]
    public void DefaultsFollowSpikingJelly()
    {
        Assert.Equal(4f, Surrogate.Sigmoid().Alpha);
        Assert.Equal(2f, Surrogate.ATan().Alpha);
        Assert.Equal(1f, Surrogate.PiecewiseQuadratic().Alpha);
        Assert.Equal(2f, Surrogate.Erf().Alpha);
        Assert.Equal(1f, Surrogate.SuperSpike().Alpha);
        Assert.Equal(1f, Surrogate.Rect().Alpha);
        // Known values at x = 0: sigmoid α/4, atan α/2, pq α, erf α/√π, superspike α, rect α.
        Assert.Equal(1.0, Surrogate.Sigmoid().Gradient(0.0), 12);
        Assert.Equal(1.0, Surrogate.ATan().Gradient(0.0), 12);
        Assert.Equal(1.0, Surrogate.PiecewiseQuadratic().Gradient(0.0), 12);
        Assert.Equal(2.0 / Math.Sqrt(Math.PI), Surrogate.Erf().Gradient(0.0), 12);
        Assert.Equal(1.0, Surrogate.SuperSpike().Gradient(0.0), 12);
        Assert.Equal(1.0, Surrogate.Rect().Gradient(0.0), 12);
        Assert.Equal(0.0, Surrogate.Rect().Gradient(0.6), 12);
        Assert.Equal(0.0, Surrogate.PiecewiseQuadratic().Gradient(1.5), 12);
    }

    [Fact]
    public void ErfMatchesKnownValues()
    {
        // Reference values of erf to 16 digits (Abramowitz and Stegun, table 7.1).
        Assert.InRange(ErfSurrogate.ErfFunction(1.0) - 0.8427007929497149, -1e-15, 1e-15);
        Assert.InRange(ErfSurrogate.ErfFunction(-2.0) + 0.9953222650189527, -1e-15, 1e-15);
        Assert.InRange(ErfSurrogate.ErfFunction(4.0) - 0.9999999845827421, -1e-15, 1e-15);
        Assert.Equal(0.0, ErfSurrogate.ErfFunction(0.0));
    }

    [Theory]
    [MemberData(nameof(All))]
    public void RejectsBadAlpha(string name)
    {
        foreach (var bad in new[] { 0f, -1f, float.NaN, float.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentException>(() => Make(name, bad));
            Assert.Contains($"Surrogate.{name}", e.Message);
            Assert.Contains("alpha", e.Message);
        }
    }
}
