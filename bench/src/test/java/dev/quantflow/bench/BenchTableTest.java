package dev.quantflow.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.quantflow.bench.BenchTable.Row;
import dev.quantflow.bench.BenchTable.Status;

class BenchTableTest {

    private static final String DOC = "# Benchmarks\n\nintro\n\n<!-- bench:outcomes -->\nold table\n| a | b |\n"
        + "<!-- /bench:outcomes -->\n\n## Static INT8\n\n| x | y |\n|---|---|\n| 1 | 2 |\n";

    @Test
    void rewriteReplacesOnlyTheMarkedRegion() {
        String out = BenchTable.rewrite(DOC, "outcomes", "new table");
        assertEquals("# Benchmarks\n\nintro\n\n<!-- bench:outcomes -->\nnew table\n<!-- /bench:outcomes -->\n\n"
            + "## Static INT8\n\n| x | y |\n|---|---|\n| 1 | 2 |\n", out);
        // idempotent: rewriting the result with the same body changes nothing
        assertEquals(out, BenchTable.rewrite(out, "outcomes", "new table\n"));
    }

    @Test
    void rewriteRefusesMissingDoubledOrReversedMarkers() {
        assertThrows(IllegalArgumentException.class, () -> BenchTable.rewrite("no markers\n", "outcomes", "t"));
        assertThrows(IllegalArgumentException.class, () -> BenchTable.rewrite(DOC, "other", "t"));
        assertThrows(IllegalArgumentException.class, () -> BenchTable.rewrite(DOC + DOC, "outcomes", "t"));
        assertThrows(IllegalArgumentException.class,
            () -> BenchTable.rewrite("<!-- /bench:outcomes -->\n<!-- bench:outcomes -->\n", "outcomes", "t"));
        assertTrue(BenchTable.hasMarkers(DOC, "outcomes"));
        assertFalse(BenchTable.hasMarkers(DOC, "other"));
    }

    @Test
    void renderEscapesCellsAndShowsTheStatus() {
        String t = BenchTable.render(List.of(
            new Row("CNN b256", "PyTorch", "4.00 ms", "5.00 ms", "0.80×", "90.90%", "90.85%", "≤ 0.6×", Status.NOT_MET,
                "a|b"),
            Row.skipped("bge", "twin", "≤ 0.85×", Status.SKIPPED, "jar missing")));
        List<String> lines = t.lines().toList();
        assertEquals(4, lines.size());
        assertEquals("| CNN b256 | PyTorch | 4.00 ms | 5.00 ms | 0.80× | 90.90% | 90.85% | ≤ 0.6× | **not met** | a\\|b |",
            lines.get(2));
        assertEquals("| bge | twin | — | — | — | — | — | ≤ 0.85× | skipped | jar missing |", lines.get(3));
    }

    @Test
    void statusIsMetOnlyWhenEveryConditionHolds() {
        assertEquals(Status.MET, Status.of(true, true));
        assertEquals(Status.PARTLY, Status.of(true, false));
        assertEquals(Status.NOT_MET, Status.of(false, false));
    }
}
