package dev.argon.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The CPU a benchmark ran on, for its report: the model name and the SIMD features that matter for
 * the kernels (x86: AVX2, FMA, F16C, AVX-512 and its VNNI/BF16 extensions; Arm: NEON/ASIMD, dot
 * product, SVE), read from {@code /proc/cpuinfo} (Linux); elsewhere the JVM's architecture name.
 */
final class CpuInfo {
    private static final List<String> FEATURES = List.of("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
            "avx512_vnni", "avx512_bf16", "avx_vnni", "asimd", "asimddp", "sve", "sve2");

    private CpuInfo() {
    }

    /** @return e.g. {@code "AMD EPYC (avx2 fma f16c)"} */
    static String describe() {
        return describe(Path.of("/proc/cpuinfo"));
    }

    static String describe(Path cpuinfo) {
        String model = null;
        Set<String> flags = new TreeSet<>();
        try {
            for (String line : Files.readAllLines(cpuinfo)) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String key = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
                String value = line.substring(colon + 1).strip();
                if (model == null && (key.equals("model name") || key.equals("cpu model") || key.equals("hardware"))) {
                    model = value;
                } else if (flags.isEmpty() && (key.equals("flags") || key.equals("features"))) {
                    flags.addAll(List.of(value.split("\\s+")));
                }
            }
        } catch (IOException | RuntimeException e) {
            return System.getProperty("os.arch");
        }
        List<String> present = new ArrayList<>();
        for (String f : FEATURES) {
            if (flags.contains(f)) {
                present.add(f);
            }
        }
        String name = model == null ? System.getProperty("os.arch") : model;
        return present.isEmpty() ? name : name + " (" + String.join(" ", present) + ")";
    }
}
