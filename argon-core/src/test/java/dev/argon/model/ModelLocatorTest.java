package dev.argon.model;

import dev.argon.ArgonException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which model file {@link ModelLocator} picks, and its errors. */
class ModelLocatorTest {
    @TempDir
    Path tmp;

    @Test
    void aNamedModelsDirectoryThatDoesNotExistIsAnErrorNotAFallback() throws IOException {
        Path argonHome = tmp.resolve("argon");
        Path bundled = tmp.resolve("shared/models/tinyllama-v0").resolve(ModelLocator.DEFAULT_MODEL);
        Files.createDirectories(bundled.getParent());
        Files.writeString(bundled, "x");
        Path missing = tmp.resolve("no-such-dir");
        ModelLocator withMissing = new ModelLocator(Map.of("ARGON_MODELS_DIR", missing.toString()), tmp.resolve("home"), argonHome);
        assertThatThrownBy(() -> withMissing.locate(null))
                .isInstanceOf(ArgonException.class)
                .hasMessageContaining("ARGON_MODELS_DIR is " + missing)
                .hasMessageContaining("not a directory");
        // unset, the default directory (absent here) falls back to the bundled model as before
        ModelLocator unset = new ModelLocator(Map.of(), tmp.resolve("home"), argonHome);
        assertThat(unset.locate(null)).isEqualTo(bundled.toAbsolutePath().normalize());
    }

    @Test
    void theOnlyModelInTheNamedDirectoryIsUsed() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("models"));
        Path only = Files.writeString(dir.resolve("a.gguf"), "x");
        ModelLocator l = new ModelLocator(Map.of("ARGON_MODELS_DIR", dir.toString()), tmp.resolve("home"), null);
        assertThat(l.locate(null)).isEqualTo(only);
        assertThat(l.locate("given.gguf")).isEqualTo(Path.of("given.gguf"));
    }
}
