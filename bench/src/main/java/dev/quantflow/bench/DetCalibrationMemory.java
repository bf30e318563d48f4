package dev.quantflow.bench;

import java.nio.file.*; import java.util.*;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.calib.*;
import dev.quantflow.runtime.npz.*;
/** Peak RSS (VmHWM) of calibrating every float activation of PaddleOCR det on N random 3x320x320 images: {@code N fetchBudgetBytes}. */
public final class DetCalibrationMemory {
  static String hwm() throws Exception { for (String l : Files.readAllLines(Path.of("/proc/self/status"))) if (l.startsWith("VmHWM")) return l.replaceAll("\\s+"," "); return "?"; }
  public static void main(String[] a) throws Exception {
    int n = Integer.parseInt(a[0]); long budget = Long.parseLong(a[1]);
    byte[] model = Files.readAllBytes(Path.of(System.getProperty("user.home"), ".cache/quantflow/paddleocr/ch_PP-OCRv4_det_infer.onnx"));
    OnnxModel m = OnnxModel.parse(model);
    String in = m.inputs().get(0).name();
    Random r = new Random(1); float[] x = new float[n*3*320*320]; for (int i=0;i<x.length;i++) x[i]=r.nextFloat()*2-1;
    NpzArchive data = NpzArchive.of(List.of(NdArray.ofFloats(in, x, n,3,320,320))); x = null;
    List<String> t = CalibrationRunner.allFloatActivations(m);
    System.out.println("tensors " + t.size() + " before " + hwm());
    long t0=System.nanoTime();
    CalibrationRunner.run(model, t, data, CalibrationOptions.defaults().withIntraOpThreads(2), ProgressListener.NONE, budget);
    System.out.println("n " + n + " budget " + budget + " after " + hwm() + " s " + (System.nanoTime()-t0)/1e9);
  }
}
