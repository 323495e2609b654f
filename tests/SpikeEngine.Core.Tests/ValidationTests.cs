using Xunit;

namespace SpikeEngine.Tests;

/// <summary>Bad input raises ArgumentException naming the op, the argument and the values.</summary>
public class ValidationTests
{
    private static void Fails(Action act, params string[] fragments)
    {
        var e = Assert.ThrowsAny<ArgumentException>(act);
        foreach (var f in fragments)
            Assert.Contains(f, e.Message);
    }

    [Fact]
    public void CopyToHostRefusesAShortDestination()
    {
        using var t = Tensor.Zeros([10]);
        Fails(() => t.Backend.CopyToHost(t, new float[9]), "CopyToHost", "[10]", "9 values");
    }

    [Fact]
    public void MismatchedShapes()
    {
        using var scope = TensorScope.Begin();
        var a = Tensor.Zeros([2, 3]);
        var b = Tensor.Zeros([3, 2]);
        Fails(() => _ = a + b, "add", "[2, 3]", "[3, 2]");
        Fails(() => Tensor.AddN(a, b), "add_n", "[3, 2]");
        Fails(() => Ops.Linear(a, Tensor.Zeros([4, 2])), "linear", "3 features", "expects 2");
        Fails(
            () => Ops.Conv2d(Tensor.Zeros([1, 3, 8, 8]), Tensor.Zeros([4, 2, 3, 3])),
            "conv2d",
            "3 channels",
            "expects 2"
        );
        Fails(
            () => Ops.Conv2d(Tensor.Zeros([3, 8, 8]), Tensor.Zeros([4, 3, 3, 3])),
            "conv2d",
            "'x'",
            "[3, 8, 8]"
        );
        Fails(
            () => Ops.Conv2d(Tensor.Zeros([1, 1, 2, 2]), Tensor.Zeros([1, 1, 5, 5])),
            "conv2d",
            "does not fit"
        );
        Fails(
            () => Ops.CrossEntropy(Tensor.Zeros([2, 3]), Tensor.FromInt32([0, 1, 2], [3])),
            "cross_entropy",
            "[2]",
            "[3]"
        );
        Fails(
            () => Ops.CrossEntropy(Tensor.Zeros([2, 3]), Tensor.FromInt32([0, 7], [2])),
            "cross_entropy",
            "label 7",
            "[0, 3)"
        );
        Fails(
            () =>
                Ops.BatchNorm(
                    Tensor.Zeros([2, 3, 4]),
                    Tensor.Ones([2]),
                    Tensor.Zeros([3]),
                    Tensor.Zeros([3]),
                    Tensor.Ones([3]),
                    true
                ),
            "batch_norm",
            "gamma",
            "[3]",
            "[2]"
        );
        Fails(() => a.Reshape(4, -1), "reshape", "[4, -1]", "6");
        Fails(
            () => Tensor.FromArray([1, 2, 3], [2, 2]),
            "Tensor.FromArray",
            "3 elements",
            "[2, 2]"
        );
    }

    [Fact]
    public void NonPositiveSizes()
    {
        using var scope = TensorScope.Begin();
        Fails(() => Tensor.Zeros([2, 0]), "Tensor.Zeros", "dimension 1 is 0");
        Fails(() => Tensor.Ones([-1]), "Tensor.Full", "-1");
        Fails(
            () =>
                Ops.Conv2d(Tensor.Zeros([1, 1, 4, 4]), Tensor.Zeros([1, 1, 3, 3]), null, stride: 0),
            "conv2d",
            "stride",
            "0"
        );
        Fails(() => Ops.MaxPool2d(Tensor.Zeros([1, 1, 4, 4]), 0, 1), "max_pool2d", "kernel", "0");
        Fails(
            () => Ops.AdaptiveAvgPool2d(Tensor.Zeros([1, 1, 4, 4]), 0, 1),
            "adaptive_avg_pool2d",
            "outH",
            "0"
        );
    }

    [Fact]
    public void WrongDType()
    {
        using var scope = TensorScope.Begin();
        var labels = Tensor.FromInt32([0, 1], [2]);
        Fails(() => _ = labels + labels, "add", "float32", "int32");
        Fails(
            () => Ops.CrossEntropy(Tensor.Zeros([2, 3]), Tensor.Zeros([2])),
            "cross_entropy",
            "labels",
            "int32",
            "float32"
        );
        Fails(() => labels.RequiresGrad = true, "float32", "int32");
    }

    [Fact]
    public void WrongDevice()
    {
        // A tensor that claims to live on cuda:0 without a CUDA backend is refused up front.
        Fails(() => Tensor.Zeros([2], Device.Cuda(0)), "cuda:0", "no backend");
        Fails(() => Device.Parse("gpu"), "device", "'gpu'");
        Fails(() => Device.Cuda(-1), "Device.Cuda", "-1");
    }

    [Fact]
    public void DisposedTensorsAreRefused()
    {
        var a = Tensor.Zeros([2]);
        a.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.ToArray());
        Assert.Throws<ObjectDisposedException>(() => _ = a + 1f);
    }
}
