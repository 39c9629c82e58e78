package dev.argon.cli;

import dev.argon.ArgonException;
import dev.argon.compress.CompressedHeader;
import dev.argon.compress.LmCodec;
import dev.argon.compress.ModelIdentity;
import dev.argon.model.LanguageModel;
import dev.argon.model.ModelOptions;
import dev.argon.model.Models;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/** {@code argon decompress}: the inverse of {@code argon compress}, with the same model. */
@Command(name = "decompress", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = {"Decompress a file written by 'argon compress' (the same model file is required; another one is refused)."})
final class DecompressCommand implements Runnable {
    @ParentCommand
    Main parent;

    @Mixin
    ModelOption modelOption;

    @Parameters(index = "0", paramLabel = "IN", description = "The compressed file.")
    Path in;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT", required = true, description = "The file to write the original bytes to.")
    Path out;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads (default: all cores); does not change the output.")
    Integer threads;

    @Override
    public void run() {
        PrintStream err = parent.streams().err();
        BinaryFiles.checkDistinct(in, out);
        byte[] file = BinaryFiles.read(in, "compressed file");
        String name = in.toString();
        ByteArrayInputStream body = new ByteArrayInputStream(file);
        CompressedHeader h;
        try {
            h = CompressedHeader.read(body, name);
        } catch (IOException e) {
            throw new ArgonException(name + ": cannot read: " + e.getMessage(), e);
        }
        boolean quantized = h.mode().startsWith("q8/");
        if (!h.mode().equals(LmCodec.mode(quantized, CompressCommand.CACHE))) {
            throw new ArgonException(name + ": arithmetic mode " + h.mode() + " is not one this Argon uses (expected "
                    + LmCodec.mode(true, CompressCommand.CACHE) + ")");
        }
        Path path = modelOption.resolve();
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        try (LanguageModel model = Models.load(path, new ModelOptions(nThreads, quantized))) {
            LmCodec codec = new LmCodec(model, ModelIdentity.of(path, model.tokenizer()), quantized, CompressCommand.CACHE);
            codec.check(h, name);
            long start = System.nanoTime();
            byte[] data;
            try (ProgressBar bar = ProgressBars.create(err, "decompress", h.tokens(), " tokens", 1)) {
                data = codec.decompress(h, body, name, (done, total) -> bar.stepTo(done));
            } catch (IOException e) {
                throw new ArgonException(name + ": cannot read: " + e.getMessage(), e);
            }
            BinaryFiles.writeAtomically(out, os -> os.write(data));
            double s = (System.nanoTime() - start) / 1e9;
            err.printf(Locale.ROOT, "argon: %s -> %s: %d bytes, %d tokens in %.2f s (%.0f bytes/s, %d threads)%n", in, out, data.length,
                    h.tokens(), s, data.length / s, nThreads);
        }
    }
}
