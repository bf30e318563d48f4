package dev.quantflow.runtime.ocr;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontFormatException;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.font.FontRenderContext;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzWriter;

/**
 * Renders the PaddleOCR evaluation and calibration data with Java2D (headless): text lines for the direction
 * classifier (cls) with labels (0 upright, 1 rotated 180°), and pages of several text lines for the detector (det).
 * Deterministic from a seed; text from a list of sentences (the KJV verses of {@code fixtures/text}).
 *
 * <p>cls: as PaddleOCR's cls preprocessing: the line is resized to height 48 keeping its aspect ratio (width at most
 * 192), normalised (x/255 − 0.5)/0.5 and right-padded with zeros; [N,3,48,192] float32, channels in BGR order.
 * det: 320×320 pages normalised with the ImageNet mean/std (x/255 − mean)/std, as PP-OCR det does; [N,3,320,320].
 * Every npz holds the input under the model's input name {@code x}; the cls files add {@code labels} (int64).
 */
public final class OcrDataRenderer {

    /** Bump when the output changes: the cache key of the rendered data. */
    public static final int VERSION = 1;
    public static final int CLS_H = 48;
    public static final int CLS_W = 192;
    public static final int DET_SIZE = 320;
    static final float[] DET_MEAN = {0.485f, 0.456f, 0.406f};
    static final float[] DET_STD = {0.229f, 0.224f, 0.225f};
    private static final String[] FONT_FILES = {
        "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSansCondensed.ttf",
        "DejaVuSerif-Bold.ttf"};

    private final List<String> sentences;
    private final List<Font> fonts;

    public OcrDataRenderer(List<String> sentences, List<Font> fonts) {
        if (sentences.isEmpty()) {
            throw new IllegalArgumentException("no sentences to render");
        }
        if (fonts.isEmpty()) {
            throw new IllegalArgumentException("no fonts to render with");
        }
        this.sentences = List.copyOf(sentences);
        this.fonts = List.copyOf(fonts);
    }

    /** The DejaVu fonts found in {@code dir}; a clear error when none loads. */
    public static List<Font> loadFonts(Path dir) {
        List<Font> out = new ArrayList<>();
        for (String name : FONT_FILES) {
            Path file = dir.resolve(name);
            if (Files.isRegularFile(file)) {
                try {
                    out.add(Font.createFont(Font.TRUETYPE_FONT, file.toFile()));
                } catch (FontFormatException | IOException e) {
                    throw new IllegalStateException("cannot load font " + file + ": " + e.getMessage());
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("no DejaVu font found in " + dir
                + " (install fonts-dejavu-core, or pass the font directory)");
        }
        return out;
    }

    /** Non-blank lines of a text file, as sentences. */
    public static List<String> readSentences(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::strip)
                .filter(s -> !s.isEmpty()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** {@code n} labelled text-line crops: {@code x} [n,3,48,192] and {@code labels} [n] (0 upright, 1 180°). */
    public List<NdArray> cls(int n, long seed) {
        Random random = new Random(seed);
        float[] x = new float[n * 3 * CLS_H * CLS_W];
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            BufferedImage line = textLine(random);
            int label = random.nextBoolean() ? 1 : 0;
            labels[i] = label;
            if (label == 1) {
                line = rotate180(line);
            }
            int resizedW = (int) Math.min(CLS_W, Math.ceil(CLS_H * (double) line.getWidth() / line.getHeight()));
            BufferedImage resized = resize(line, resizedW, CLS_H);
            int base = i * 3 * CLS_H * CLS_W;
            for (int yy = 0; yy < CLS_H; yy++) {
                for (int xx = 0; xx < resizedW; xx++) {
                    int rgb = resized.getRGB(xx, yy);
                    int[] bgr = {rgb & 0xff, (rgb >> 8) & 0xff, (rgb >> 16) & 0xff};
                    for (int c = 0; c < 3; c++) {
                        x[base + (c * CLS_H + yy) * CLS_W + xx] = (bgr[c] / 255f - 0.5f) / 0.5f;
                    }
                }
            }
        }
        return List.of(NdArray.ofFloats("x", x, n, 3, CLS_H, CLS_W), NdArray.ofLongs("labels", labels, n));
    }

    /** A page: the normalised image and the text boxes drawn on it (x0, y0, x1, y1 in pixels). */
    public record Page(float[] pixels, List<int[]> boxes) {
    }

    /** {@code n} det pages: {@code x} [n,3,320,320]. */
    public List<NdArray> det(int n, long seed) {
        Random random = new Random(seed);
        int plane = DET_SIZE * DET_SIZE;
        float[] x = new float[n * 3 * plane];
        for (int i = 0; i < n; i++) {
            Page page = page(random);
            System.arraycopy(page.pixels(), 0, x, i * 3 * plane, 3 * plane);
        }
        return List.of(NdArray.ofFloats("x", x, n, 3, DET_SIZE, DET_SIZE));
    }

    /** One det page drawn from {@code random}, with its boxes (for checking a detector's map). */
    public Page page(Random random) {
        BufferedImage img = new BufferedImage(DET_SIZE, DET_SIZE, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        antialias(g);
        g.setColor(lightColor(random));
        g.fillRect(0, 0, DET_SIZE, DET_SIZE);
        List<int[]> boxes = new ArrayList<>();
        int y = 8 + random.nextInt(20);
        while (true) {
            Font font = fonts.get(random.nextInt(fonts.size())).deriveFont((float) (12 + random.nextInt(18)));
            g.setFont(font);
            String text = snippet(random, 2 + random.nextInt(5));
            FontRenderContext frc = g.getFontRenderContext();
            Rectangle2D bounds = font.getStringBounds(text, frc);
            int ascent = (int) Math.ceil(g.getFontMetrics().getAscent());
            int height = (int) Math.ceil(bounds.getHeight());
            if (y + height > DET_SIZE - 6) {
                break;
            }
            int width = (int) Math.min(bounds.getWidth(), DET_SIZE - 12);
            int x0 = 6 + random.nextInt(Math.max(1, DET_SIZE - 12 - width));
            g.setColor(darkColor(random));
            g.setClip(x0, y, width, height);
            g.drawString(text, x0, y + ascent);
            g.setClip(null);
            boxes.add(new int[] {x0, y, x0 + width, y + height});
            y += height + 6 + random.nextInt(24);
        }
        g.dispose();
        int plane = DET_SIZE * DET_SIZE;
        float[] pixels = new float[3 * plane];
        for (int yy = 0; yy < DET_SIZE; yy++) {
            for (int xx = 0; xx < DET_SIZE; xx++) {
                int rgb = img.getRGB(xx, yy);
                int[] bgr = {rgb & 0xff, (rgb >> 8) & 0xff, (rgb >> 16) & 0xff};
                for (int c = 0; c < 3; c++) {
                    pixels[c * plane + yy * DET_SIZE + xx] = (bgr[c] / 255f - DET_MEAN[c]) / DET_STD[c];
                }
            }
        }
        return new Page(pixels, boxes);
    }

    private BufferedImage textLine(Random random) {
        Font font = fonts.get(random.nextInt(fonts.size())).deriveFont((float) (28 + random.nextInt(12)));
        String text = snippet(random, 1 + random.nextInt(6));
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D pg = probe.createGraphics();
        pg.setFont(font);
        antialias(pg);
        Rectangle2D bounds = font.getStringBounds(text, pg.getFontRenderContext());
        int ascent = pg.getFontMetrics().getAscent();
        pg.dispose();
        int padX = 2 + random.nextInt(6);
        int padY = 1 + random.nextInt(4);
        int w = (int) Math.ceil(bounds.getWidth()) + 2 * padX;
        int h = (int) Math.ceil(bounds.getHeight()) + 2 * padY;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        antialias(g);
        g.setColor(lightColor(random));
        g.fillRect(0, 0, w, h);
        g.setColor(darkColor(random));
        g.setFont(font);
        g.drawString(text, padX, padY + ascent);
        g.dispose();
        return img;
    }

    /** {@code words} consecutive words of a random sentence (the whole sentence when shorter). */
    private String snippet(Random random, int words) {
        String[] all = sentences.get(random.nextInt(sentences.size())).split("\\s+");
        int count = Math.min(words, all.length);
        int start = random.nextInt(all.length - count + 1);
        return String.join(" ", java.util.Arrays.copyOfRange(all, start, start + count));
    }

    private static Color lightColor(Random random) {
        return new Color(200 + random.nextInt(56), 200 + random.nextInt(56), 200 + random.nextInt(56));
    }

    private static Color darkColor(Random random) {
        return new Color(random.nextInt(80), random.nextInt(80), random.nextInt(80));
    }

    private static void antialias(Graphics2D g) {
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
    }

    private static BufferedImage rotate180(BufferedImage src) {
        int w = src.getWidth();
        int h = src.getHeight();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                out.setRGB(w - 1 - x, h - 1 - y, src.getRGB(x, y));
            }
        }
        return out;
    }

    private static BufferedImage resize(BufferedImage src, int w, int h) {
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        g.drawImage(src, 0, 0, w, h, null);
        g.dispose();
        return out;
    }

    /**
     * Renders cls_eval.npz (1000), cls_calib.npz (64), det_eval.npz (200), det_calib.npz (64) into
     * {@code OUT_DIR/v<VERSION>}, skipping files already there. Arguments: OUT_DIR SENTENCES_FILE [FONT_DIR].
     * Prints the data directory on its last line.
     */
    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        if (args.length < 2) {
            System.err.println("usage: OcrDataRenderer OUT_DIR SENTENCES_FILE [FONT_DIR]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]).resolve("v" + VERSION);
        Path fontDir = Path.of(args.length > 2 ? args[2] : "/usr/share/fonts/truetype/dejavu");
        try {
            OcrDataRenderer renderer = new OcrDataRenderer(readSentences(Path.of(args[1])), loadFonts(fontDir));
            Files.createDirectories(dir);
            write(dir.resolve("cls_eval.npz"), () -> renderer.cls(1000, 1));
            write(dir.resolve("cls_calib.npz"), () -> renderer.cls(64, 2));
            write(dir.resolve("det_eval.npz"), () -> renderer.det(200, 3));
            write(dir.resolve("det_calib.npz"), () -> renderer.det(64, 4));
        } catch (RuntimeException | IOException e) {
            System.err.println("ocr data: " + e.getMessage());
            System.exit(1);
        }
        System.out.println(dir);
    }

    private static void write(Path file, java.util.function.Supplier<List<NdArray>> arrays) throws IOException {
        if (Files.isRegularFile(file)) {
            return;
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        NpzWriter.write(tmp, arrays.get(), false);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
