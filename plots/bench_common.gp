# Shared by the plots/bench_*.gp scripts (bench/run.sh calls them with dir, tmp, T, peak1, peakT
# set): colours and legend names per backend, the same in every plot.
set datafile missing "NaN"
set grid ytics lc rgb "#d0d0d0"
set border 3
set tics nomirror
color(n) = n eq "naive" ? 0x8c8c8c : n eq "im2col" ? 0xe69f00 : n eq "avx2" ? 0x56b4e9 : \
           n eq "omp" ? 0x0047ab : n eq "onednn" ? 0x009e73 : n eq "onednn_avx2" ? 0x8fd9bd : \
           n eq "openblas" ? 0xcc79a7 : n eq "pytorch" ? 0xd55e00 : 0x333333
name(n) = n eq "naive" ? "naive (reference, plain loops)" : \
          n eq "im2col" ? "im2col (im2col + blocked GEMM, portable C)" : \
          n eq "avx2" ? "avx2 (AVX2+FMA kernels, 1 thread)" : \
          n eq "omp" ? "omp (avx2 kernels over OpenMP threads)" : \
          n eq "onednn" ? "oneDNN peer (its own ISA choice)" : \
          n eq "onednn_avx2" ? "oneDNN peer limited to AVX2" : \
          n eq "openblas" ? "OpenBLAS sgemm peer" : n eq "pytorch" ? "PyTorch peer" : n
