package dev.argon.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.Console;
import java.io.PrintStream;

/**
 * Progress bars on standard error for long commands (progressbar library): on a terminal one line
 * of Unicode blocks redrawn every 250 ms; otherwise (logs, CI) a plain ASCII line every 5 s, each
 * ending in a newline rather than a carriage return.
 */
final class ProgressBars {
    private ProgressBars() {
    }

    /**
     * @param task the label shown before the bar
     * @param max the total in {@code unit}s
     * @param unit the unit's name (with a leading space when it is a word) and its size
     */
    static ProgressBar create(PrintStream err, String task, long max, String unit, long unitSize) {
        boolean terminal = isTerminal();
        return new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(max)
                .setUnit(unit, unitSize)
                .showSpeed()
                // a terminal redraws one line 4 times a second; a log (CI, a file) gets a whole line every 5 s
                .setUpdateIntervalMillis(terminal ? 250 : 5000)
                .setStyle(terminal ? ProgressBarStyle.COLORFUL_UNICODE_BLOCK : ProgressBarStyle.ASCII)
                .setConsumer(terminal ? new ConsoleProgressBarConsumer(err, terminalWidth())
                        : new DelegatingProgressBarConsumer(err::println, 100))
                .build();
    }

    static boolean isTerminal() {
        Console c = System.console();
        return c != null && c.isTerminal();
    }

    /** The terminal's width from {@code COLUMNS} when exported, else 100 (no terminal library is asked). */
    static int terminalWidth() {
        try {
            String c = System.getenv("COLUMNS");
            return c != null ? Math.max(40, Integer.parseInt(c.trim())) : 100;
        } catch (NumberFormatException e) {
            return 100;
        }
    }
}
