package dev.argon;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Locates the read-only fixtures in {@code ../shared} (models and llama.cpp reference outputs). */
public final class TestFiles {
    private TestFiles() {
    }

    /** @return the shared folder; tests that need it are skipped if it is absent */
    public static Path shared() {
        String p = System.getProperty("argon.shared");
        for (Path candidate : new Path[]{p == null ? null : Path.of(p), Path.of("../shared"), Path.of("../../shared")}) {
            if (candidate != null && Files.isDirectory(candidate.resolve("models"))) {
                return candidate.toAbsolutePath().normalize();
            }
        }
        assumeTrue(false, "../shared with the model fixtures is not present");
        return null;
    }

    /** @return a file under {@code shared/models} */
    public static Path model(String relative) {
        Path f = shared().resolve("models").resolve(relative);
        assumeTrue(Files.isRegularFile(f), "fixture missing: " + f);
        return f;
    }

    /** @return a file under {@code shared/reference} */
    public static Path reference(String relative) {
        Path f = shared().resolve("reference").resolve(relative);
        assumeTrue(Files.isRegularFile(f), "fixture missing: " + f);
        return f;
    }
}
