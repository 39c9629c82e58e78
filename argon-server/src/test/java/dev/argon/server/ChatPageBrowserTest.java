package dev.argon.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.argon.TestFiles;
import dev.argon.chat.ChatTemplate;
import dev.argon.generate.GenerationListener;
import dev.argon.generate.GenerationRequest;
import dev.argon.generate.GenerationResult;
import dev.argon.gguf.GgufFile;
import dev.argon.kv.KvCache;
import dev.argon.model.LanguageModel;
import dev.argon.model.Models;
import dev.argon.sampling.TokenLogprobs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The chat page at {@code /} in a real browser: headless Chromium (Debian's {@code chromium} and
 * {@code chromium-driver} packages, which {@code .ci/run} installs) driven by Selenium. The page
 * loads, says it needs a key, shows the server's error for a wrong API key, streams a greedy
 * answer piece by piece that equals the API's answer (with a system prompt and sampling
 * settings), keeps the conversation for a second turn, and stops an answer with the stop button
 * (the server then counts a cancelled generation). Skipped, saying why, when no Chromium or
 * chromedriver is installed.
 *
 * <p>The model (stories260K) decodes faster than a browser can be watched, so the engine behind
 * this server hands each piece of text on 25 ms late: the tokens and text are the engine's own.
 */
@Timeout(180)
class ChatPageBrowserTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "sk-page-test";
    private static final List<String> BROWSERS = List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome");
    private static final List<String> DRIVERS = List.of("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver");

    private static LanguageModel model;
    private static OpenAiServer server;
    private static WebDriver browser;

    @BeforeAll
    static void start() throws Exception {
        String chromium = System.getenv().getOrDefault("CHROMIUM_BIN", BROWSERS.stream().filter(p -> new File(p).canExecute()).findFirst().orElse(null));
        String driver = System.getenv().getOrDefault("CHROMEDRIVER_BIN", DRIVERS.stream().filter(p -> new File(p).canExecute()).findFirst().orElse(null));
        Assumptions.assumeTrue(chromium != null && new File(chromium).canExecute() && driver != null && new File(driver).canExecute(),
                "skipped: no headless Chromium and chromedriver (apt-get install chromium chromium-driver; .ci/run does this)");
        Path path = TestFiles.model("tinyllamas/stories260K/stories260K.gguf");
        model = Models.load(path, 2);
        ChatTemplate template;
        try (GgufFile f = GgufFile.open(path)) {
            template = ChatTemplate.fromGguf(f, model.tokenizer());
        }
        ServerConfig config = new ServerConfig("127.0.0.1", 0, 2, 4, 256, KvCache.Precision.F32, KEY, "stories260K");
        server = new OpenAiServer(config).start().ready(model, template, new PacedEngine(BatchingEngine.of(model, config), 25));

        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,820",
                "--no-first-run", "--disable-extensions");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(driver)).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (server != null) {
            server.stop(Duration.ofSeconds(5));
        }
        if (model != null) {
            model.close();
        }
    }

    @Test
    void chatInTheBrowser() throws Exception {
        browser.get(server.url() + "/");
        assertThat(browser.getTitle()).isEqualTo("Argon chat");
        waitFor(() -> status().contains("needs an API key"));

        // a wrong key: the server's 401 message in an error bubble
        setField("api-key", "wrong-key");
        ask("Hello");
        WebElement failed = waitForAnswer(1);
        assertThat(failed.getAttribute("class")).contains("error");
        assertThat(failed.getText()).contains("invalid API key");

        setField("api-key", KEY);
        waitFor(() -> browser.findElement(By.id("model")).getText().equals("stories260K"));
        assertThat(browser.findElement(By.id("temperature")).getAttribute("placeholder")).isEqualTo("0.8"); // the server's default, from /props
        browser.findElement(By.id("new-chat")).click();
        setField("system", "You tell stories.");
        setField("temperature", "0");
        setField("max_tokens", "40");

        // first turn: streamed piece by piece, equal to the API's greedy answer
        ask("Tell me about Lily.");
        Set<Integer> seen = new LinkedHashSet<>();
        WebElement first = lastAssistant(1);
        while (!"true".equals(first.getAttribute("data-done"))) {
            seen.add(first.findElement(By.className("text")).getText().length());
            Thread.sleep(5);
        }
        String answer1 = apiAnswer(List.of("system", "You tell stories.", "user", "Tell me about Lily."));
        assertThat(first.findElement(By.className("text")).getText()).isEqualTo(answer1.strip());
        assertThat(Integer.parseInt(first.getAttribute("data-chunks"))).isGreaterThan(5);
        assertThat(seen.stream().filter(n -> n > 0 && n < answer1.strip().length()).count()).as("partial answers seen: " + seen)
                .isGreaterThanOrEqualTo(3);
        assertThat(status()).containsPattern("\\d+ tokens · [\\d.]+ tokens/s · prompt \\d+ tokens · finish: (length|stop)");

        // second turn: the conversation so far goes with it
        ask("What did she do next?");
        WebElement second = waitForAnswer(2);
        String answer2 = apiAnswer(List.of("system", "You tell stories.", "user", "Tell me about Lily.", "assistant", answer1,
                "user", "What did she do next?"));
        assertThat(second.findElement(By.className("text")).getText()).isEqualTo(answer2.strip());
        String shot = System.getProperty("argon.screenshot");
        if (shot != null) {
            Path png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath();
            Files.copy(png, Path.of(shot), StandardCopyOption.REPLACE_EXISTING);
        }

        // stop: an answer without a token limit, stopped while it streams
        int cancelledBefore = server.cancelledGenerations();
        setField("max_tokens", "");
        ask("Tell me a long story.");
        WebElement third = lastAssistant(3);
        waitFor(() -> third.getAttribute("data-chunks") != null && Integer.parseInt(third.getAttribute("data-chunks")) >= 3);
        browser.findElement(By.id("stop")).click();
        waitFor(() -> "true".equals(third.getAttribute("data-done")));
        assertThat(third.getAttribute("class")).contains("stopped");
        String stopped = third.findElement(By.className("text")).getText();
        Thread.sleep(300);
        assertThat(third.findElement(By.className("text")).getText()).isEqualTo(stopped);
        assertThat(status()).startsWith("stopped after");
        assertThat(browser.findElement(By.id("send")).isEnabled()).isTrue();
        assertThat(browser.findElement(By.id("stop")).isEnabled()).isFalse();
        waitFor(() -> server.cancelledGenerations() > cancelledBefore);
    }

    // ---- page helpers ----

    private static String status() {
        return browser.findElement(By.id("status")).getText();
    }

    private static void setField(String id, String value) {
        WebElement e = browser.findElement(By.id(id));
        e.clear();
        if (!value.isEmpty()) {
            e.sendKeys(value);
        }
        e.sendKeys(Keys.TAB); // fires 'change'
    }

    private static void ask(String text) {
        WebElement input = browser.findElement(By.id("input"));
        input.sendKeys(text);
        input.sendKeys(Keys.ENTER);
    }

    /** The {@code n}-th assistant bubble of the conversation (1-based), once it exists. */
    private static WebElement lastAssistant(int n) {
        waitFor(() -> browser.findElements(By.cssSelector(".msg.assistant")).size() >= n);
        List<WebElement> all = browser.findElements(By.cssSelector(".msg.assistant"));
        return all.get(n - 1);
    }

    private static WebElement waitForAnswer(int n) {
        WebElement e = lastAssistant(n);
        waitFor(() -> "true".equals(e.getAttribute("data-done")));
        return e;
    }

    private static void waitFor(BooleanSupplier condition) {
        new WebDriverWait(browser, Duration.ofSeconds(30)).until(d -> condition.getAsBoolean());
    }

    /** The greedy answer of the chat API to role/content pairs, with the page's settings (temperature 0, 40 tokens). */
    private static String apiAnswer(List<String> roleContent) throws Exception {
        var messages = JSON.createArrayNode();
        for (int i = 0; i < roleContent.size(); i += 2) {
            messages.addObject().put("role", roleContent.get(i)).put("content", roleContent.get(i + 1));
        }
        var body = JSON.createObjectNode().put("temperature", 0).put("max_tokens", 40);
        body.set("messages", messages);
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/v1/chat/completions"))
                    .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode j = JSON.readTree(r.body());
            return j.path("choices").get(0).path("message").path("content").asText();
        }
    }

    /** An engine that hands each piece of text on {@code delayMs} late, so a browser can watch the stream. */
    private record PacedEngine(Engine inner, long delayMs) implements Engine {
        @Override
        public GenerationResult run(GenerationRequest req, int[] promptIds, java.util.function.Consumer<String> onText, BooleanSupplier cancelled) {
            java.util.function.Consumer<String> paced = text -> {
                pause();
                onText.accept(text);
            };
            return inner.run(req, promptIds, paced, cancelled);
        }

        @Override
        public List<GenerationResult> runAll(List<GenerationRequest> reqs, int[] promptIds, IntFunction<GenerationListener> listeners,
                                             BooleanSupplier cancelled) {
            return inner.runAll(reqs, promptIds, i -> paced(listeners.apply(i)), cancelled);
        }

        @Override
        public GenerationResult run(GenerationRequest req, int[] promptIds, GenerationListener listener, BooleanSupplier cancelled) {
            return inner.run(req, promptIds, paced(listener), cancelled);
        }

        private GenerationListener paced(GenerationListener l) {
            return new GenerationListener() {
                @Override
                public void onText(String text) {
                    pause();
                    l.onText(text);
                    l.onPause(); // each piece goes out on its own (the server sends what arrived at each pause)
                }

                @Override
                public void onToken(int token, TokenLogprobs lp) {
                    l.onToken(token, lp);
                }

                @Override
                public void onPause() {
                    l.onPause();
                }

                @Override
                public boolean stillWanted() {
                    return l.stillWanted();
                }
            };
        }

        private void pause() {
            try {
                Thread.sleep(delayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public int contextLength() {
            return inner.contextLength();
        }

        @Override
        public Stats stats() {
            return inner.stats();
        }

        @Override
        public int capacity() {
            return inner.capacity();
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
