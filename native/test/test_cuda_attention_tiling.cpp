// The CUDA attention kernels' tiling and online-softmax rules (src/cuda/attention_tiles.h), run
// on the CPU: (1) the tile-skip rules never skip a tile that holds a visible (query, key) pair,
// the tiles they keep are tight, and a tile called unmasked has no masked pair; (2) simulations of
// the forward tile loop (flash-attention 2's online softmax), the backward loop (key blocks
// outer, query blocks inner, P recomputed from the saved logsumexp, dQ summed across key blocks
// as the kernel's atomics do), the deterministic dQ loop (query blocks outer, the forward's key
// tiles inner in increasing order) and the split-K decode, each written with those functions in the
// kernels' order, equal the CPU engine's attention_forward / attention_backward (fp32) with
// causal masks, sliding windows, packed records, GQA, soft-capping and ALiBi. No GPU needed: this
// covers the index and softmax algebra; the mma fragments are checked by test_cuda_attention.cu.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "check_macros.h"
#include "cuda/attention_tiles.h"
#include "tuner/ops.h"
#include "tuner/rng.h"

using namespace tuner;
using namespace tuner::attn;

namespace {

struct Problem {
  int B, T, NH, NKV, HD, window;
  float scale = 0, softcap = 0;
  std::vector<float> alibi;           // [NH] or empty
  std::vector<int32_t> sample_start;  // [B*T] or empty
  int rs(int b, int i) const { return sample_start.empty() || i >= T ? 0 : sample_start[(size_t)b * T + i]; }
  float real_scale() const { return scale > 0 ? scale : 1.0f / std::sqrt((float)HD); }
  float slope(int h) const { return alibi.empty() ? 0.0f : alibi[h]; }
  AttentionExtras extras() const { return {scale, softcap, alibi.empty() ? nullptr : alibi.data()}; }
};

std::vector<float> random_values(size_t n, Rng& rng, float amp) {
  std::vector<float> x(n);
  for (auto& e : x) e = amp * ((float)(rng.next_u64() >> 40) * (2.0f / (1 << 24)) - 1.0f);
  return x;
}

// Records of pseudo-random lengths in each batch row (Batch::sample_start's form).
std::vector<int32_t> random_records(int B, int T, Rng& rng) {
  std::vector<int32_t> ss((size_t)B * T);
  for (int b = 0; b < B; b++) {
    int start = 0;
    for (int t = 0; t < T; t++) {
      if (t > 0 && rng.next_u64() % 23 == 0) start = t;
      ss[(size_t)b * T + t] = start;
    }
  }
  return ss;
}

// ---- (1) the tile rules against brute force ----

// The deterministic dQ kernel's walk (attention_dq.cu): per query block, the key tiles of
// key_tiles in increasing order. Every visible (query, key) pair is visited exactly once, as the
// key-major backward kernel (query_tiles, stopping at records_past_keys) visits it, and a row's
// key tiles come in increasing order, so its dQ sum has one fixed order.
void check_dq_walk(int T, int BM, int BN, int window, const std::vector<int32_t>& ss) {
  auto rs = [&](int i) { return ss.empty() || i >= T ? 0 : ss[i]; };
  std::vector<int> by_dq((size_t)T * T, 0), by_bwd((size_t)T * T, 0);
  for (int m0 = 0; m0 < T; m0 += BM) {
    const int last = std::min(T, m0 + BM) - 1;
    const TileRange r = key_tiles(m0, BM, BN, T, window, rs(m0));
    int previous = -1;
    for (int kt = r.begin; kt < r.end; kt++) {
      EXPECT(kt > previous);
      previous = kt;
      for (int i = m0; i <= last; i++)
        for (int j = kt * BN; j < std::min(T, kt * BN + BN); j++)
          if (visible(i, j, T, window, rs(i))) by_dq[(size_t)i * T + j]++;
    }
  }
  for (int n0 = 0; n0 < T; n0 += BN) {
    const int n_last = std::min(T, n0 + BN) - 1;
    const TileRange r = query_tiles(n0, BN, BM, T, window);
    for (int qt = r.begin; qt < r.end; qt++) {
      if (!ss.empty() && records_past_keys(rs(qt * BM), n_last)) break;
      for (int i = qt * BM; i < std::min(T, qt * BM + BM); i++)
        for (int j = n0; j <= n_last; j++)
          if (visible(i, j, T, window, rs(i))) by_bwd[(size_t)i * T + j]++;
    }
  }
  for (int i = 0; i < T; i++)
    for (int j = 0; j < T; j++) EXPECT(by_dq[(size_t)i * T + j] == (visible(i, j, T, window, rs(i)) ? 1 : 0));
  EXPECT(by_dq == by_bwd);
}

void check_tile_rules(int T, int BM, int BN, int window, const std::vector<int32_t>& ss) {
  auto rs = [&](int i) { return ss.empty() || i >= T ? 0 : ss[i]; };
  for (int m0 = 0; m0 < T; m0 += BM) {
    const int last = std::min(T, m0 + BM) - 1;
    const TileRange r = key_tiles(m0, BM, BN, T, window, rs(m0));
    bool first_has = false, last_has = false;
    for (int i = m0; i <= last; i++)
      for (int j = 0; j < T; j++) {
        if (!visible(i, j, T, window, rs(i))) continue;
        const int kt = j / BN;
        EXPECT(kt >= r.begin && kt < r.end);  // never skipped
        first_has |= kt == r.begin;
        last_has |= kt == r.end - 1;
      }
    EXPECT(first_has && last_has);  // tight at both ends
    for (int kt = r.begin; kt < r.end; kt++) {
      if (!tile_unmasked(m0, last, kt * BN, BN, window, rs(last))) continue;
      for (int i = m0; i <= last; i++)
        for (int j = kt * BN; j < kt * BN + BN; j++) EXPECT(visible(i, j, T, window, rs(i)));
    }
  }
  // Backward: every query that sees a key of tile n0 lies in a visited query block, before the stop.
  for (int n0 = 0; n0 < T; n0 += BN) {
    const int n_last = std::min(T, n0 + BN) - 1;
    const TileRange r = query_tiles(n0, BN, BM, T, window);
    int stop = r.end;
    if (!ss.empty())
      for (int qt = r.begin; qt < r.end; qt++)
        if (records_past_keys(rs(qt * BM), n_last)) {
          stop = qt;
          break;
        }
    for (int j = n0; j <= n_last; j++)
      for (int i = 0; i < T; i++)
        if (visible(i, j, T, window, rs(i))) EXPECT(i / BM >= r.begin && i / BM < stop);
  }
  check_dq_walk(T, BM, BN, window, ss);
}

void test_tile_rules() {
  Rng rng(7);
  const int tiles[][2] = {{64, 64}, {128, 64}, {16, 16}, {16, 32}, {32, 16}};
  for (int T : {1, 2, 17, 63, 64, 65, 128, 130, 200})
    for (int window : {0, 1, 2, 5, 15, 16, 17, 63, 64, 65, 100, 1000, 2147483647})
      for (const auto& t : tiles) {
        check_tile_rules(T, t[0], t[1], window, {});
        check_tile_rules(T, t[0], t[1], window, random_records(1, T, rng));
      }
}

// ---- (2) the kernels' loops, simulated ----

float dot(const float* a, const float* b, int n) {
  float s = 0;
  for (int e = 0; e < n; e++) s += a[e] * b[e];
  return s;
}

// The forward kernel's loop: a CTA per (query block, head), key tiles from key_tiles, masked
// per element only where tile_unmasked says so, online softmax per row; rows at or past T are
// computed from zeros, as the kernel's zero-filled tiles, and never written.
void simulate_forward(std::vector<float>& y, std::vector<float>& lse, const std::vector<float>& q, const std::vector<float>& k,
                      const std::vector<float>& v, const Problem& p, int BM, int BN) {
  const int T = p.T, HD = p.HD, QD = p.NH * HD, KD = p.NKV * HD, G = p.NH / p.NKV;
  const std::vector<float> zeros(HD, 0.0f);
  for (int b = 0; b < p.B; b++)
    for (int h = 0; h < p.NH; h++)
      for (int m0 = 0; m0 < T; m0 += BM) {
        const int kh = h / G, last = std::min(T, m0 + BM) - 1;
        std::vector<float> m(BM, -INFINITY), l(BM, 0.0f), acc((size_t)BM * HD, 0.0f), t(BN);
        const TileRange r = key_tiles(m0, BM, BN, T, p.window, p.rs(b, m0));
        for (int kt = r.begin; kt < r.end; kt++) {
          const int n0 = kt * BN;
          const bool unmasked = tile_unmasked(m0, last, n0, BN, p.window, p.rs(b, last));
          for (int row = 0; row < BM; row++) {
            const int i = m0 + row;
            const float* qi = i < T ? &q[((size_t)b * T + i) * QD + h * HD] : zeros.data();
            float tile_max = -INFINITY;
            for (int c = 0; c < BN; c++) {
              const int j = n0 + c;
              const float* kj = j < T ? &k[((size_t)b * T + j) * KD + kh * HD] : zeros.data();
              t[c] = score_log2(dot(qi, kj, HD), p.real_scale(), p.softcap, p.slope(h), i, j);
              if (!unmasked && !visible(i, j, T, p.window, p.rs(b, i))) t[c] = -INFINITY;
              tile_max = std::max(tile_max, t[c]);
            }
            const float m_new = online_max(m[row], tile_max), shift = online_shift(m_new);
            const float corr = online_correction(m[row], shift);
            float* a = &acc[(size_t)row * HD];
            l[row] *= corr;
            for (int e = 0; e < HD; e++) a[e] *= corr;
            for (int c = 0; c < BN; c++) {
              const float pj = exp2_fast(t[c] - shift);
              const int j = n0 + c;
              l[row] += pj;
              if (j < T)
                for (int e = 0; e < HD; e++) a[e] += pj * v[((size_t)b * T + j) * KD + kh * HD + e];
            }
            m[row] = m_new;
          }
        }
        for (int i = m0; i <= last; i++) {
          const int row = i - m0;
          for (int e = 0; e < HD; e++) y[((size_t)b * T + i) * QD + h * HD + e] = acc[(size_t)row * HD + e] * row_inv_sum(l[row]);
          lse[((size_t)b * p.NH + h) * T + i] = row_lse(m[row], l[row]);
        }
      }
}

// The backward kernels: D = rowsum(dY o Y) first; then a CTA per (key block, kv head) keeps its
// dK, dV and walks the G query heads' query blocks (query_tiles, stopping at records_past_keys),
// recomputing P from lse; dQ is summed over key blocks into one fp32 buffer (the atomics).
void simulate_backward(std::vector<float>& dq, std::vector<float>& dk, std::vector<float>& dv, const std::vector<float>& dy,
                       const std::vector<float>& y, const std::vector<float>& lse, const std::vector<float>& q,
                       const std::vector<float>& k, const std::vector<float>& v, const Problem& p, int BM, int BN) {
  const int T = p.T, HD = p.HD, QD = p.NH * HD, KD = p.NKV * HD, G = p.NH / p.NKV;
  std::vector<float> D((size_t)p.B * p.NH * T);
  for (int b = 0; b < p.B; b++)
    for (int h = 0; h < p.NH; h++)
      for (int i = 0; i < T; i++) {
        const size_t o = ((size_t)b * T + i) * QD + h * HD;
        D[((size_t)b * p.NH + h) * T + i] = dot(&dy[o], &y[o], HD);
      }
  std::fill(dq.begin(), dq.end(), 0.0f);
  for (int b = 0; b < p.B; b++)
    for (int kh = 0; kh < p.NKV; kh++)
      for (int n0 = 0; n0 < T; n0 += BN) {
        const int n_last = std::min(T, n0 + BN) - 1;
        std::vector<float> dK((size_t)BN * HD, 0.0f), dV((size_t)BN * HD, 0.0f);
        for (int g = 0; g < G; g++) {
          const int h = kh * G + g;
          const TileRange r = query_tiles(n0, BN, BM, T, p.window);
          for (int qt = r.begin; qt < r.end; qt++) {
            const int m0 = qt * BM, last = std::min(T, m0 + BM) - 1;
            if (!p.sample_start.empty() && records_past_keys(p.rs(b, m0), n_last)) break;
            const bool unmasked = tile_unmasked(m0, last, n0, BN, p.window, p.rs(b, last));
            for (int row = 0; row < BM; row++) {
              const int i = m0 + row;
              if (i >= T) continue;  // zero dY and lse = +inf: nothing flows from padding rows
              const size_t oi = ((size_t)b * T + i) * QD + h * HD;
              const float l_i = lse[((size_t)b * p.NH + h) * T + i], D_i = D[((size_t)b * p.NH + h) * T + i];
              for (int c = 0; c < BN; c++) {
                const int j = n0 + c;
                if (j >= T) continue;
                const size_t oj = ((size_t)b * T + j) * KD + kh * HD;
                const float qk = dot(&q[oi], &k[oj], HD);
                const float t = score_log2(qk, p.real_scale(), p.softcap, p.slope(h), i, j);
                const float P = unmasked || visible(i, j, T, p.window, p.rs(b, i)) ? prob_from_lse(t, l_i) : 0.0f;
                const float dP = dot(&dy[oi], &v[oj], HD);
                const float dS = P * (dP - D_i) * score_grad_factor(qk, p.real_scale(), p.softcap);
                for (int e = 0; e < HD; e++) {
                  dV[(size_t)c * HD + e] += P * dy[oi + e];
                  dK[(size_t)c * HD + e] += dS * q[oi + e];
                  dq[oi + e] += dS * k[oj + e];
                }
              }
            }
          }
        }
        for (int j = n0; j <= n_last; j++)
          for (int e = 0; e < HD; e++) {
            dk[((size_t)b * T + j) * KD + kh * HD + e] = dK[(size_t)(j - n0) * HD + e];
            dv[((size_t)b * T + j) * KD + kh * HD + e] = dV[(size_t)(j - n0) * HD + e];
          }
      }
}

// The deterministic dQ kernel: D first; then a CTA per (query block, query head) walks the
// forward's key tiles (key_tiles) in increasing order, masks per element only where
// tile_unmasked says so, recomputes P from lse and dP = dY . v, and sums dS k into the rows'
// dQ, written once at the end.
void simulate_dq_query_major(std::vector<float>& dq, const std::vector<float>& dy, const std::vector<float>& y,
                             const std::vector<float>& lse, const std::vector<float>& q, const std::vector<float>& k,
                             const std::vector<float>& v, const Problem& p, int BM, int BN) {
  const int T = p.T, HD = p.HD, QD = p.NH * HD, KD = p.NKV * HD, G = p.NH / p.NKV;
  for (int b = 0; b < p.B; b++)
    for (int h = 0; h < p.NH; h++)
      for (int m0 = 0; m0 < T; m0 += BM) {
        const int kh = h / G, last = std::min(T, m0 + BM) - 1;
        std::vector<float> acc((size_t)BM * HD, 0.0f);
        const TileRange r = key_tiles(m0, BM, BN, T, p.window, p.rs(b, m0));
        for (int kt = r.begin; kt < r.end; kt++) {
          const int n0 = kt * BN;
          const bool unmasked = tile_unmasked(m0, last, n0, BN, p.window, p.rs(b, last));
          for (int i = m0; i <= last; i++) {
            const size_t oi = ((size_t)b * T + i) * QD + h * HD;
            const float l_i = lse[((size_t)b * p.NH + h) * T + i], D_i = dot(&dy[oi], &y[oi], HD);
            for (int j = n0; j < std::min(T, n0 + BN); j++) {
              const size_t oj = ((size_t)b * T + j) * KD + kh * HD;
              const float qk = dot(&q[oi], &k[oj], HD);
              const float t = score_log2(qk, p.real_scale(), p.softcap, p.slope(h), i, j);
              const float P = unmasked || visible(i, j, T, p.window, p.rs(b, i)) ? prob_from_lse(t, l_i) : 0.0f;
              const float dS = P * (dot(&dy[oi], &v[oj], HD) - D_i) * score_grad_factor(qk, p.real_scale(), p.softcap);
              for (int e = 0; e < HD; e++) acc[(size_t)(i - m0) * HD + e] += dS * k[oj + e];
            }
          }
        }
        for (int i = m0; i <= last; i++)
          for (int e = 0; e < HD; e++) dq[((size_t)b * T + i) * QD + h * HD + e] = acc[(size_t)(i - m0) * HD + e];
      }
}

// The decode kernel: query position `pos` (batch row 0) over keys [first, pos] cut into chunks
// of `chunk` keys; each chunk's partial (m, l, acc) is combined with split_weight.
void simulate_decode(float* out, const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                     const Problem& p, int h, int pos, int chunk) {
  const int HD = p.HD, QD = p.NH * HD, KD = p.NKV * HD, kh = h / (p.NH / p.NKV);
  const int k0 = first_key(pos, p.window, p.rs(0, pos)), keys = pos + 1 - k0, splits = split_count(keys, chunk);
  std::vector<float> ms(splits, -INFINITY), ls(splits, 0.0f), accs((size_t)splits * HD, 0.0f);
  for (int s = 0; s < splits; s++)
    for (int j = k0 + s * chunk; j < std::min(pos + 1, k0 + (s + 1) * chunk); j++) {
      const float t = score_log2(dot(&q[(size_t)pos * QD + h * HD], &k[(size_t)j * KD + kh * HD], HD), p.real_scale(),
                                 p.softcap, p.slope(h), pos, j);
      const float m_new = online_max(ms[s], t), shift = online_shift(m_new), corr = online_correction(ms[s], shift);
      const float pj = exp2_fast(t - shift);
      ls[s] = ls[s] * corr + pj;
      for (int e = 0; e < HD; e++) accs[(size_t)s * HD + e] = accs[(size_t)s * HD + e] * corr + pj * v[(size_t)j * KD + kh * HD + e];
      ms[s] = m_new;
    }
  float M = -INFINITY, L = 0;
  for (int s = 0; s < splits; s++) M = std::max(M, ms[s]);
  for (int s = 0; s < splits; s++) L += split_weight(ms[s], M) * ls[s];
  for (int e = 0; e < HD; e++) {
    float a = 0;
    for (int s = 0; s < splits; s++) a += split_weight(ms[s], M) * accs[(size_t)s * HD + e];
    out[e] = a * row_inv_sum(L);
  }
}

// Largest difference relative to the largest reference value, or to `floor` when that is smaller:
// with one visible key per query (T = 1, W = 1) dQ and dK are exactly 0 and both sides hold only
// rounding noise.
double rel_error(const std::vector<float>& got, const std::vector<float>& want, double floor = 0) {
  double d = 0, m = floor;
  for (size_t i = 0; i < want.size(); i++) {
    d = std::max(d, (double)std::fabs(got[i] - want[i]));
    m = std::max(m, (double)std::fabs(want[i]));
  }
  return m > 0 ? d / m : d;
}

void check_case(const Problem& p, int BM, int BN, Rng& rng) {
  const size_t nq = (size_t)p.B * p.T * p.NH * p.HD, nk = (size_t)p.B * p.T * p.NKV * p.HD, nl = (size_t)p.B * p.NH * p.T;
  const auto q = random_values(nq, rng, 1.5f), k = random_values(nk, rng, 1.5f), v = random_values(nk, rng, 1.0f);
  const auto dy = random_values(nq, rng, 1.0f);
  const AttentionExtras ex = p.extras();
  const int32_t* ss = p.sample_start.empty() ? nullptr : p.sample_start.data();
  std::vector<float> scratch((size_t)attention_scratch_floats(p.T, 1));
  std::vector<float> y(nq), lse(nl), dq(nq), dk(nk), dv(nk);
  attention_forward(y.data(), lse.data(), q.data(), k.data(), v.data(), scratch.data(), p.B, p.T, p.NH, p.NKV, p.HD, p.window,
                    nullptr, &ex, ss);
  attention_backward(dq.data(), dk.data(), dv.data(), dy.data(), y.data(), lse.data(), q.data(), k.data(), v.data(),
                     scratch.data(), p.B, p.T, p.NH, p.NKV, p.HD, p.window, nullptr, &ex, ss);

  std::vector<float> y2(nq), lse2(nl), dq2(nq), dk2(nk), dv2(nk);
  simulate_forward(y2, lse2, q, k, v, p, BM, BN);
  simulate_backward(dq2, dk2, dv2, dy, y, lse, q, k, v, p, BM, BN);
  std::vector<float> dq3(nq, 1e30f);  // a row the walk never writes shows as a huge error
  simulate_dq_query_major(dq3, dy, y, lse, q, k, v, p, BM, BN);
  const double ey = rel_error(y2, y), el = rel_error(lse2, lse);
  const double eq = rel_error(dq2, dq, 0.01), ek = rel_error(dk2, dk, 0.01), ev = rel_error(dv2, dv, 0.01);
  const double eq3 = rel_error(dq3, dq, 0.01);
  const bool ok = ey < 2e-5 && el < 2e-5 && eq < 1e-4 && ek < 1e-4 && ev < 1e-4 && eq3 < 1e-4;
  if (!ok)
    std::fprintf(stderr,
                 "T=%d W=%d tiles %dx%d heads %d/%d cap %g alibi %d records %d: y %.2g lse %.2g dq %.2g dk %.2g dv %.2g "
                 "dq (query-major) %.2g\n",
                 p.T, p.window, BM, BN, p.NH, p.NKV, p.softcap, !p.alibi.empty(), !p.sample_start.empty(), ey, el, eq, ek, ev,
                 eq3);
  EXPECT(ok);

  // Decode of every query position of batch row 0 (the KV cache = rows 0..pos) in chunks.
  std::vector<float> out(p.HD), want(p.HD);
  double ed = 0;
  for (int pos = 0; pos < p.T; pos++)
    for (int h = 0; h < p.NH; h++) {
      simulate_decode(out.data(), q, k, v, p, h, pos, 7);
      for (int e = 0; e < p.HD; e++) want[e] = y[(size_t)pos * p.NH * p.HD + h * p.HD + e];
      ed = std::max(ed, rel_error(out, want));
    }
  if (ed >= 2e-5) std::fprintf(stderr, "decode T=%d W=%d: %.2g\n", p.T, p.window, ed);
  EXPECT(ed < 2e-5);
}

void test_loops_match_engine() {
  Rng rng(11);
  const int tiles[][2] = {{64, 64}, {128, 64}, {16, 16}, {16, 32}};
  for (int T : {1, 17, 64, 100, 150})
    for (int window : {0, 1, 6, 16, 40, 64, 1000})
      for (const auto& t : tiles) {
        Problem p{2, T, 4, 2, 8, window};
        check_case(p, t[0], t[1], rng);
        p.sample_start = random_records(p.B, T, rng);
        check_case(p, t[0], t[1], rng);
      }
  // Gemma's scale and soft-cap, Bloom's ALiBi, with and without a window.
  for (int window : {0, 9}) {
    Problem p{1, 90, 4, 1, 16, window};
    p.scale = 0.2f;
    p.softcap = 3.0f;
    check_case(p, 64, 64, rng);
    check_case(p, 16, 16, rng);
    Problem a{1, 90, 4, 4, 8, window};
    a.alibi = {0.5f, 0.25f, 0.125f, 0.0625f};
    check_case(a, 64, 64, rng);
  }
}

// A row whose first tiles are all masked (a window far behind the block's first row) must come
// out of online_shift / online_correction with zeros, not NaN, and then count its real keys.
void test_masked_first_tiles() {
  float m = -INFINITY, l = 0;
  const float m_new = online_max(m, -INFINITY), shift = online_shift(m_new);
  EXPECT(shift == 0.0f);
  EXPECT(online_correction(m, shift) == 0.0f);
  EXPECT(exp2_fast(-INFINITY - shift) == 0.0f);
  l = l * online_correction(m, shift);
  EXPECT(l == 0.0f);
  EXPECT(row_lse(-INFINITY, 0.0f) == INFINITY);
  EXPECT(prob_from_lse(1.0f, INFINITY) == 0.0f);
  EXPECT(row_inv_sum(0.0f) == 0.0f);
}

}  // namespace

int main() {
  test_tile_rules();
  test_masked_first_tiles();
  test_loops_match_engine();
  return finish("test_cuda_attention_tiling");
}
