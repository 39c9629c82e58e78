package dev.argon.model;

import dev.argon.ArgonException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Decides which model file to use when the user names none. Order: an explicit path
 * ({@code -m}), the {@code ARGON_MODEL} environment variable, the models directory
 * ({@code ARGON_MODELS_DIR}, default {@code ~/.argon/models}: {@value #DEFAULT_MODEL} there, else
 * its only {@code .gguf} file), then the bundled test fixture
 * {@code shared/models/tinyllama-v0/} next to the Argon checkout.
 */
public final class ModelLocator {
    /** File name of the default model. */
    public static final String DEFAULT_MODEL = "TinyLLama-v0.Q4_0.gguf";

    private final Map<String, String> env;
    private final Path home;
    private final Path argonHome;

    /**
     * @param env environment variables
     * @param home the user's home directory
     * @param argonHome the Argon checkout (its parent may hold {@code shared/}), or null
     */
    public ModelLocator(Map<String, String> env, Path home, Path argonHome) {
        this.env = env;
        this.home = home;
        this.argonHome = argonHome;
    }

    /** @return a locator for this process (environment, {@code user.home}, {@code argon.home}) */
    public static ModelLocator forThisProcess() {
        String ah = System.getProperty("argon.home");
        return new ModelLocator(System.getenv(), Path.of(System.getProperty("user.home")), ah == null ? null : Path.of(ah));
    }

    /**
     * @param explicit the path given on the command line, or null
     * @return the model file to open (existence of an explicit path is checked by the loader)
     * @throws ArgonException explaining how to name a model when none can be found, or when
     *                        {@code ARGON_MODELS_DIR} names something that is not a directory
     */
    public Path locate(String explicit) {
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String fromEnv = env.get("ARGON_MODEL");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv);
        }
        String dirName = env.get("ARGON_MODELS_DIR");
        boolean dirGiven = dirName != null && !dirName.isBlank();
        Path dir = dirGiven ? Path.of(dirName) : home.resolve(".argon").resolve("models");
        if (dirGiven && !Files.isDirectory(dir)) {
            // a models directory that was named but is missing is a mistake, not a reason to fall back
            throw new ArgonException("ARGON_MODELS_DIR is " + dir + ", which is not a directory; set it to the folder that holds"
                    + " your .gguf models, or pass -m MODEL.gguf");
        }
        if (Files.isDirectory(dir)) {
            Path preferred = dir.resolve(DEFAULT_MODEL);
            if (Files.isRegularFile(preferred)) {
                return preferred;
            }
            List<Path> ggufs;
            try (Stream<Path> s = Files.list(dir)) {
                ggufs = s.filter(p -> p.getFileName().toString().endsWith(".gguf")).sorted().toList();
            } catch (IOException e) {
                throw new ArgonException(dir + ": cannot list models directory: " + e.getMessage(), e);
            }
            if (ggufs.size() == 1) {
                return ggufs.getFirst();
            }
            if (ggufs.size() > 1) {
                throw new ArgonException("several models in " + dir + " (" + ggufs.stream().map(p -> p.getFileName().toString()).toList()
                        + "); choose one with -m or ARGON_MODEL, or name one " + DEFAULT_MODEL);
            }
        }
        if (argonHome != null) {
            Path bundled = argonHome.toAbsolutePath().normalize().resolveSibling("shared").resolve("models").resolve("tinyllama-v0").resolve(DEFAULT_MODEL);
            if (Files.isRegularFile(bundled)) {
                return bundled;
            }
        }
        throw new ArgonException("no model given and none found: pass -m MODEL.gguf, set ARGON_MODEL, or put a .gguf file in "
                + dir + " (ARGON_MODELS_DIR)");
    }
}
