package dev.argon.cli;

import dev.argon.gguf.GgufArray;
import dev.argon.gguf.GgufFile;
import dev.argon.gguf.GgufTensorInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/** {@code argon inspect MODEL}: prints GGUF metadata and the tensor table. */
@Command(name = "inspect", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Print a GGUF file's metadata and tensor table (name, type, shape, bytes).")
final class InspectCommand implements Runnable {
    @ParentCommand
    Main parent;

    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF file")
    Path model;

    @Override
    public void run() {
        PrintStream out = parent.streams().out();
        try (GgufFile f = GgufFile.open(model)) {
            out.printf("file: %s%n", f.path());
            out.printf("GGUF version %d, %d bytes, %d metadata entries, %d tensors, alignment %d, data at offset %d%n",
                    f.version(), f.fileSize(), f.metadata().size(), f.tensors().size(), f.alignment(), f.dataOffset());
            out.println();
            out.println("metadata:");
            for (Map.Entry<String, Object> e : f.metadata().entrySet()) {
                out.printf("  %-44s %-8s %s%n", e.getKey(), f.typeOf(e.getKey()).name().toLowerCase(), show(e.getValue()));
            }
            if (!f.tensors().isEmpty()) {
                out.println();
                out.printf("tensors:%n  %-36s %-6s %-20s %14s%n", "name", "type", "shape", "bytes");
                long total = 0;
                long params = 0;
                for (GgufTensorInfo t : f.tensors()) {
                    out.printf("  %-36s %-6s %-20s %14d%n", t.name(), t.type(), t.shapeString(), t.byteSize());
                    total += t.byteSize();
                    params += t.elementCount();
                }
                out.printf("  %d tensors, %d parameters, %d bytes%n", f.tensors().size(), params, total);
            }
        }
    }

    private static String show(Object v) {
        if (v instanceof GgufArray a) {
            return a.toString();
        }
        if (v instanceof String s) {
            String one = s.replace("\n", "\\n");
            return '"' + (one.length() > 120 ? one.substring(0, 117) + "..." : one) + '"';
        }
        return String.valueOf(v);
    }
}
