package dev.argon.cli;

import dev.argon.model.ModelLocator;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The {@code -m/--model} option shared by commands, with Argon's default-model resolution. */
final class ModelOption {
    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", converter = ArgumentConverters.NonEmpty.class,
            description = "GGUF model file. Default: $ARGON_MODEL, else the model in $ARGON_MODELS_DIR (~/.argon/models), else the bundled TinyLLama-v0.")
    String model;

    /** @return the model path to open */
    Path resolve() {
        return ModelLocator.forThisProcess().locate(model);
    }
}
