/**
 * Watermarking of generated tokens and its detection, after Kirchenbauer et al. 2023, "A Watermark
 * for Large Language Models" (ICML): {@link dev.argon.watermark.WatermarkScheme} says which tokens
 * are green after a given context, {@link dev.argon.watermark.Watermark} is the sampler step that
 * favours them, and {@link dev.argon.watermark.WatermarkDetector} counts them with a one-sided
 * z-test.
 */
package dev.argon.watermark;
