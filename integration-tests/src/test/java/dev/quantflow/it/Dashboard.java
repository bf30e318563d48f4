package dev.quantflow.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.logging.Level;

import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * intake's web dashboard in a real headless Chromium (Debian's {@code chromium} and {@code chromium-driver},
 * driven by Selenium over WebDriver). Without them the test is skipped with a message; with
 * {@code -Dtest.require-browser=true} it fails instead. {@code -Dtest.chromium} / {@code -Dtest.chromedriver}
 * name other binaries.
 */
final class Dashboard implements AutoCloseable {

    static final int WIDTH = 1400;

    private final ChromeDriver driver;
    private final String base;
    private final Path screenshots;

    private Dashboard(ChromeDriver driver, String base, Path screenshots) {
        this.driver = driver;
        this.base = base;
        this.screenshots = screenshots;
    }

    /** Starts the browser on intake's dashboard; aborts the test when Chromium or its driver is not installed. */
    static Dashboard open(String intakeUrl, Path screenshots) throws Exception {
        Path chromium = Path.of(System.getProperty("test.chromium", "/usr/bin/chromium"));
        Path chromedriver = Path.of(System.getProperty("test.chromedriver", "/usr/bin/chromedriver"));
        if (!Files.isExecutable(chromium) || !Files.isExecutable(chromedriver)) {
            String message = "the dashboard test needs Chromium and its driver (" + chromium + ", " + chromedriver
                + "): apt-get install chromium chromium-driver (.ci/run does when apt is available)";
            if (Boolean.getBoolean("test.require-browser")) {
                throw new AssertionError(message + " (test.require-browser=true)");
            }
            Assumptions.abort(message);
        }
        Files.createDirectories(screenshots);
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--hide-scrollbars", "--window-size=" + WIDTH + ",1000", "--lang=en-US");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
            .usingDriverExecutable(chromedriver.toFile())
            .usingAnyFreePort()
            .withLogFile(screenshots.resolve("chromedriver.log").toFile())
            .build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(60));
        return new Dashboard(driver, intakeUrl + "/dashboard/", screenshots);
    }

    /**
     * Saves the API token through the page's token field (kept in localStorage; the page then sends it as
     * {@code Authorization: Bearer} with every call). Nothing to do for a null or blank token.
     */
    void useToken(String token) {
        if (token == null || token.isBlank()) {
            return;
        }
        WebElement field = waitFor("#token", Duration.ofSeconds(30));
        field.clear();
        field.sendKeys(token);
        one("#token-form button[type=submit]").click();
        if (!token.trim().equals(script("return localStorage.getItem('quantflow.token')"))) {
            throw new AssertionError("the page did not save the API token");
        }
    }

    /**
     * The local cluster's API token when the test kit has one ({@code ItCluster.apiToken}, once intake requires
     * tokens), else null: read reflectively so this class compiles with and without it.
     */
    static String clusterToken() {
        try {
            return (String) ItCluster.class.getDeclaredField("apiToken").get(null);
        } catch (ReflectiveOperationException | ClassCastException e) {
            return null;
        }
    }

    /** Opens a view of the single-page app: {@code "#/jobs"}, {@code "#/jobs/ID"}, … */
    void go(String hash) {
        if (driver.getCurrentUrl() != null && driver.getCurrentUrl().startsWith(base)) {
            driver.executeScript("location.hash = arguments[0]", hash);
        } else {
            driver.get(base + hash);
        }
    }

    String hash() {
        return (String) driver.executeScript("return location.hash");
    }

    WebElement waitFor(String css, Duration timeout) {
        return new WebDriverWait(driver, timeout).pollingEvery(Duration.ofMillis(200))
            .withMessage(() -> "no '" + css + "' on " + driver.getCurrentUrl())
            .until(d -> {
                List<WebElement> found = d.findElements(By.cssSelector(css));
                return found.isEmpty() ? null : found.get(0);
            });
    }

    /** Waits until a JavaScript expression is truthy. */
    void waitUntil(String script, Duration timeout, String what) {
        new WebDriverWait(driver, timeout).pollingEvery(Duration.ofMillis(200)).withMessage(() -> what)
            .until(d -> Boolean.TRUE.equals(((JavascriptExecutor) d).executeScript("return !!(" + script + ")")));
    }

    List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    WebElement one(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    Object script(String js, Object... args) {
        return driver.executeScript(js, args);
    }

    /** Runs an async function body ({@code await} allowed); its return value comes back. */
    Object async(String body, Object... args) {
        return driver.executeAsyncScript("const done = arguments[arguments.length - 1];"
            + "(async (...args) => {" + body + "})(...Array.from(arguments).slice(0, -1))"
            + ".then(done, e => done({error: String(e && e.stack || e)}));", args);
    }

    /** A screenshot of the whole page (the window grown to its height), kept under the screenshot folder. */
    Path screenshot(String name) throws Exception {
        Dimension before = driver.manage().window().getSize();
        long height = ((Number) driver.executeScript(
            "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")).longValue();
        driver.manage().window().setSize(new Dimension(WIDTH, (int) Math.min(4000, Math.max(800, height + 20))));
        Thread.sleep(300); // charts follow the resize
        Path file = screenshots.resolve(name + ".png");
        Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
        driver.manage().window().setSize(before);
        return file;
    }

    /** What the page wrote to the console at level SEVERE (uncaught errors, failed loads) since the last call. */
    List<String> severeConsole() {
        return driver.manage().logs().get(LogType.BROWSER).getAll().stream()
            .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue()).map(LogEntry::getMessage).toList();
    }

    @Override
    public void close() {
        driver.quit();
    }

}
