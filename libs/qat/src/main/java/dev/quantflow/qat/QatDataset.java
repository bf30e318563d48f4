package dev.quantflow.qat;

/**
 * Examples for calibration, training or evaluation: {@code inputs} holds {@code count} samples of shape
 * {@code sampleShape} back to back (row-major), {@code labels} one class index per sample or null when unlabelled.
 */
public record QatDataset(float[] inputs, int[] sampleShape, int[] labels) {

    public QatDataset {
        int per = QatTensor.count(sampleShape);
        if (per == 0 || inputs.length % per != 0) {
            throw new IllegalArgumentException(inputs.length + " values are not a whole number of samples of "
                + java.util.Arrays.toString(sampleShape));
        }
        if (labels != null && labels.length != inputs.length / per) {
            throw new IllegalArgumentException(labels.length + " labels for " + inputs.length / per + " samples");
        }
    }

    public int count() {
        return inputs.length / sampleSize();
    }

    public int sampleSize() {
        return QatTensor.count(sampleShape);
    }

    /** Shape of a batch of {@code n} samples. */
    public int[] batchShape(int n) {
        int[] s = new int[sampleShape.length + 1];
        s[0] = n;
        System.arraycopy(sampleShape, 0, s, 1, sampleShape.length);
        return s;
    }

    /** The first {@code n} samples (a copy). */
    public QatDataset head(int n) {
        int per = sampleSize();
        return new QatDataset(java.util.Arrays.copyOf(inputs, n * per), sampleShape,
            labels == null ? null : java.util.Arrays.copyOf(labels, n));
    }
}
