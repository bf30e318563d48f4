# Regenerates the .npz test files with NumPy: cd to this folder, then /usr/bin/python3 make_npz_fixtures.py
import numpy as np

x = (np.arange(30, dtype=np.float32) / 8 - 2).reshape(5, 1, 2, 3)  # element i = i/8 - 2
y = np.array([3, 1, 4, 1, 5], dtype=np.int64)
np.savez_compressed('numpy_compressed.npz', input=x, labels=y)
np.savez('numpy_stored.npz', f8=np.arange(6, dtype=np.float64).reshape(2, 3) / 4,
         i4=np.array([-1, 2, 70000], dtype=np.int32), u1=np.array([[0, 255]], dtype=np.uint8),
         b1=np.array([True, False, True]), i1=np.array([-128, 127], dtype=np.int8),
         f2=np.array([0.5, -2.0], dtype=np.float16), i2=np.array([-300, 300], dtype=np.int16),
         scalar=np.float32(2.5))
np.savez('bigendian.npz', x=np.arange(3, dtype='>f4'))
np.savez('fortran.npz', x=np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.savez('strings.npz', x=np.array(['a', 'b']))
np.save('single.npy', np.zeros(3, dtype=np.float32))
