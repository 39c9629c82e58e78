// Native llama.cpp's grammar mask time per token, measured the way argon-bench's GrammarMaskBench
// measures Argon's: a JSON document is tokenized by the vocabulary; for each document a grammar
// sampler is created (llama_sampler_init_grammar: "compile"), then for each token the sampler is
// applied to all n_vocab candidates (llama_sampler_apply sets the disallowed logits to -inf: the
// mask) and the document's token is accepted (llama_sampler_accept). One thread; the candidate
// array is refilled outside the timed part. Prints p50, p99, max and mean per token.
//
//   build and run: tools/llama-cpp/grammar-mask.sh
//   grammar-mask VOCAB.gguf GRAMMAR.gbnf DOCUMENT.txt DOCUMENTS
#include "llama.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <time.h>

static std::string slurp(const char * path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        fprintf(stderr, "grammar-mask: cannot read %s\n", path);
        exit(2);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/** This thread's CPU time in microseconds (unaffected by other processes on a loaded machine). */
static double cpu_us() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void quiet(ggml_log_level level, const char * text, void *) {
    if (level >= GGML_LOG_LEVEL_ERROR) {
        fputs(text, stderr);
    }
}

static void report(const char * what, std::vector<double> s) {
    std::sort(s.begin(), s.end());
    double sum = 0;
    for (double v : s) {
        sum += v;
    }
    auto pct = [&](double p) { return s[std::min(s.size() - 1, (size_t) std::ceil(p * s.size()) - 1)]; };
    printf("%s: p50 %.1f us, p99 %.1f us, max %.1f us, mean %.1f us\n", what, pct(0.50), pct(0.99), s.back(), sum / s.size());
}

int main(int argc, char ** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: grammar-mask VOCAB.gguf GRAMMAR.gbnf DOCUMENT.txt DOCUMENTS\n");
        return 2;
    }
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (model == nullptr) {
        fprintf(stderr, "grammar-mask: cannot load %s\n", argv[1]);
        return 2;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    std::string gbnf = slurp(argv[2]);
    std::string doc = slurp(argv[3]);
    while (!doc.empty() && (doc.back() == '\n' || doc.back() == '\r')) {
        doc.pop_back();
    }
    int docs = atoi(argv[4]);
    std::vector<llama_token> tokens(doc.size() + 8);
    int n = llama_tokenize(vocab, doc.c_str(), (int32_t) doc.size(), tokens.data(), (int32_t) tokens.size(), false, false);
    if (n <= 0) {
        fprintf(stderr, "grammar-mask: cannot tokenize the document\n");
        return 2;
    }
    tokens.resize(n);

    // GRAMMAR_MASK_DUMP=FILE: writes "position token" for every allowed token of the first document
    FILE * dump = getenv("GRAMMAR_MASK_DUMP") != nullptr ? fopen(getenv("GRAMMAR_MASK_DUMP"), "w") : nullptr;
    std::vector<float> logits(n_vocab);
    std::mt19937 rng(7);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    for (float & l : logits) {
        l = gauss(rng);
    }
    std::vector<llama_token_data> cand(n_vocab);
    std::vector<double> per_token, per_token_cpu; // microseconds
    per_token.reserve((size_t) docs * n);
    per_token_cpu.reserve((size_t) docs * n);
    double compile_ms = 0;
    long allowed_total = 0;
    using clk = std::chrono::steady_clock;
    for (int d = 0; d < docs; d++) {
        auto c0 = clk::now();
        llama_sampler * g = llama_sampler_init_grammar(vocab, gbnf.c_str(), "root");
        compile_ms += std::chrono::duration<double, std::milli>(clk::now() - c0).count();
        if (g == nullptr) {
            fprintf(stderr, "grammar-mask: llama.cpp rejected the grammar %s\n", argv[2]);
            return 2;
        }
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < n_vocab; t++) {
                cand[t] = llama_token_data{t, logits[t], 0.0f};
            }
            llama_token_data_array arr{cand.data(), (size_t) n_vocab, -1, false};
            double u0 = cpu_us();
            auto t0 = clk::now();
            llama_sampler_apply(g, &arr);
            llama_sampler_accept(g, tokens[i]);
            per_token.push_back(std::chrono::duration<double, std::micro>(clk::now() - t0).count());
            per_token_cpu.push_back(cpu_us() - u0);
            if (std::isinf(cand[tokens[i]].logit)) {
                fprintf(stderr, "grammar-mask: the grammar rejects document token %d (id %d)\n", i, tokens[i]);
                return 1;
            }
            if (d == 0) {
                for (int t = 0; t < n_vocab; t++) {
                    allowed_total += !std::isinf(cand[t].logit);
                    if (dump != nullptr && !std::isinf(cand[t].logit)) {
                        fprintf(dump, "%d %d\n", i, t);
                    }
                }
            }
        }
        llama_sampler_free(g);
    }
    printf("vocab %d, document %d tokens, %d documents, %zu samples, allowed tokens summed over the document %ld (mean %.0f),"
           " compile %.3f ms\n", n_vocab, n, docs, per_token.size(), allowed_total, (double) allowed_total / n, compile_ms / docs);
    report("mask+accept per token, wall", per_token);
    report("mask+accept per token, thread CPU", per_token_cpu);
    if (dump != nullptr) {
        fclose(dump);
    }
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
