package dev.argon.model;

import dev.argon.ArgonException;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufTensorInfo;
import dev.argon.tensor.F32Tensor;
import dev.argon.tensor.GgmlType;
import dev.argon.tensor.Tensor;

/**
 * Looks up model weights by their GGUF names and checks their shapes and types before handing
 * them to an architecture, so a malformed model fails at load time with a message naming the
 * tensor, the expected shape and the one found.
 */
public final class WeightLoader {
    private final GgufFile file;
    private long parameterCount;
    private long weightBytes;

    public WeightLoader(GgufFile file) {
        this.file = file;
    }

    /** @return whether the file has a tensor of that name */
    public boolean has(String name) {
        return file.tensor(name) != null;
    }

    /**
     * A weight matrix {@code [rows, cols]} (row-major; GGUF shape {@code [cols, rows]}).
     * Quantized tensors whose rows do not start on block boundaries ("flat" quantization, found in
     * some GGUF version 1 and 2 files; {@link GgufFile} refuses it in version 3 files) are
     * dequantized to F32 on the heap.
     *
     * @throws ArgonException if missing, of the wrong shape or of an unsupported type
     */
    public Tensor matrix(String name, int rows, int cols) {
        GgufTensorInfo t = require(name, new long[]{cols, rows});
        GgmlType type = GgmlType.requireSupported(t.type().id(), file.path() + ": tensor '" + name + "'");
        count(t);
        Tensor tensor = Tensor.of(type, file.tensorData(t), t.elementCount());
        if (type.quantized() && cols % type.blockSize() != 0) {
            float[] all = new float[Math.toIntExact(t.elementCount())];
            tensor.dequantize(0, all, 0, all.length);
            return F32Tensor.of(all);
        }
        return tensor;
    }

    /**
     * A vector {@code [n]} copied onto the heap as floats (norm weights, biases).
     *
     * @throws ArgonException if missing, of the wrong shape or of an unsupported type
     */
    public float[] vector(String name, int n) {
        GgufTensorInfo t = require(name, new long[]{n});
        GgmlType type = GgmlType.requireSupported(t.type().id(), file.path() + ": tensor '" + name + "'");
        count(t);
        float[] out = new float[n];
        Tensor.of(type, file.tensorData(t), n).dequantize(0, out, 0, n);
        return out;
    }

    /** @return the shape of a tensor in GGML order, or throws if missing */
    public long[] shape(String name) {
        GgufTensorInfo t = file.tensor(name);
        if (t == null) {
            throw new ArgonException(file.path() + ": required tensor '" + name + "' is missing");
        }
        return t.shape();
    }

    private GgufTensorInfo require(String name, long[] expected) {
        GgufTensorInfo t = file.tensor(name);
        if (t == null) {
            throw new ArgonException(file.path() + ": required tensor '" + name + "' is missing");
        }
        if (!java.util.Arrays.equals(t.shape(), expected)) {
            throw new ArgonException(file.path() + ": tensor '" + name + "' has shape " + t.shapeString()
                    + ", expected " + java.util.Arrays.toString(expected) + " (GGML order, innermost first)");
        }
        return t;
    }

    private void count(GgufTensorInfo t) {
        parameterCount += t.elementCount();
        weightBytes += t.byteSize();
    }

    /** @return parameters of all tensors loaded so far */
    public long parameterCount() {
        return parameterCount;
    }

    /** @return bytes of all tensors loaded so far */
    public long weightBytes() {
        return weightBytes;
    }
}
