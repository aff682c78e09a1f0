// ROUGE-L F1 and corpus BLEU-4 against values computed by hand from rouge_score's and
// sacrebleu's definitions (LCS F-measure; clipped n-gram precisions, brevity penalty, "exp"
// smoothing), each case exercising one part of the formula; the words each library splits a
// text into (rouge_score's tokenize, sacrebleu's 13a, with the lists Python's re gives for the
// same regexes); and token ids decoded to text from small tokenizer.json files of both families
// (byte-level BPE, SentencePiece-style with byte fallback), each expected text the one Hugging
// Face tokenizers (0.23, the npm binding) gives for decode(ids, skip_special_tokens=true).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "check_macros.h"
#include "tuner/eval_metrics.h"
#include "tuner/text_decoder.h"

using namespace tuner;
using Ids = std::vector<uint32_t>;
using Words = std::vector<std::string>;

namespace {

void text_words() {
  // rouge_score: lowercase; anything but [a-z0-9] separates (so apostrophes and accents split).
  EXPECT(rouge_words("Don't STOP!  Go-42x") == (Words{"don", "t", "stop", "go", "42x"}));
  EXPECT(rouge_words("\xC3\x9Cn\xC3\xAF""code caf\xC3\xA9") == (Words{"n", "code", "caf"}));  // Ünïcode café
  EXPECT(rouge_words("5\xE2\x84\xAA \xC4\xB0x") == (Words{"5k", "i", "x"}));  // KELVIN SIGN, I WITH DOT lowercase to ASCII
  EXPECT(rouge_words(" \t\n").empty());

  // sacrebleu 13a: punctuation split off except ' , . - inside words; case kept.
  EXPECT(bleu_words_13a("Hello, world! It's 3.14, isn't it?") ==
         (Words{"Hello", ",", "world", "!", "It's", "3.14", ",", "isn't", "it", "?"}));
  EXPECT(bleu_words_13a("The cost is $5-10 (approx.).") ==
         (Words{"The", "cost", "is", "$", "5", "-", "10", "(", "approx", ".", ")", "."}));
  // Escapes, a hyphen at a line end joins the lines, <skipped> goes.
  EXPECT(bleu_words_13a("&quot;A&amp;B&quot; end-\nline<skipped>s") == (Words{"\"", "A", "&", "B", "\"", "endlines"}));
  // re.sub's left-to-right, non-overlapping matches: "a..b" splits both periods, 1,000.5 stays.
  EXPECT(bleu_words_13a("a..b 1,000.5 x,y 3-4-5 [ok]/{no}~`^_|\\") ==
         (Words{"a", ".", ".", "b", "1,000.5", "x", ",", "y", "3", "-", "4", "-", "5", "[", "ok", "]", "/", "{", "no", "}",
                "~", "`", "^", "_", "|", "\\"}));
  // Non-ASCII letters stay in words; NO-BREAK SPACE separates as str.split() does.
  EXPECT(bleu_words_13a("Caf\xC3\xA9, na\xC3\xAFve.\xC2\xA0""done") == (Words{"Caf\xC3\xA9", ",", "na\xC3\xAFve", ".", "done"}));

  WordIds w;
  EXPECT(w.ids({"a", "b", "a"}) == (Ids{0, 1, 0}));
  EXPECT(w.ids({"b", "c"}) == (Ids{1, 2}));  // one table across calls: equal words, equal ids
}

void text_scores() {
  const std::string hyp = "the cat sat on the mat.", ref = "The cat is on the mat.";
  {  // ROUGE-L lowercases: the cat . on the mat vs the cat . on the mat, LCS 5 of 6 each side.
    WordIds w;
    const Ids h = w.ids(rouge_words(hyp)), r = w.ids(rouge_words(ref));
    EXPECT_NEAR(rouge_l_f1(h, r), 5.0 / 6.0, 1e-12);
  }
  {  // BLEU keeps case: "the" (twice) matches the reference's one "the" once, "the cat" does not
     // match "The cat". p1 = 5/7, p2 = 3/6 (on the, the mat, mat .), p3 = 2/5, p4 = 1/4.
    WordIds w;
    CorpusBleu b;
    const Ids h = w.ids(bleu_words_13a(hyp)), r = w.ids(bleu_words_13a(ref));
    b.add(h, r);
    EXPECT(b.correct(1) == 5 && b.total(1) == 7 && b.correct(2) == 3 && b.correct(4) == 1);
    EXPECT_NEAR(b.score(), 100.0 * std::pow((5.0 / 7) * (3.0 / 6) * (2.0 / 5) * (1.0 / 4), 0.25), 1e-9);
  }
}

std::string temp_dir() {
  char tmpl[] = "/tmp/tuner_eval_text_XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "/tmp";
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Byte-level BPE (GPT-2 style): space is "Ġ" (U+0120), newline "Ċ" (U+010A), é's bytes C3 A9 are
// "Ã" "©"; <|im_end|> is special, <think> an added token that is not.
const char* kByteLevel = R"({"model": {"type": "BPE", "vocab": {"Hello": 0, "\u0120world": 1, "!": 2, "\u010a": 3, "\u00c3\u00a9": 4,
  "\u0120caf": 5, "\u00c3": 6}, "merges": []},
  "added_tokens": [{"id": 7, "content": "<|im_end|>", "special": true}, {"id": 8, "content": "<think>", "special": false}],
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "decoder": {"type": "ByteLevel", "add_prefix_space": true}})";

// SentencePiece-style (Llama 2): "▁" for spaces, byte fallback tokens, a leading space stripped.
const char* kSentencePiece = R"({"model": {"type": "BPE", "byte_fallback": true, "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2,
  "<0x0A>": 3, "<0xC3>": 4, "<0xA9>": 5, "\u2581Hello": 6, "\u2581world": 7, "!": 8, "\u2581caf": 9}, "merges": []},
  "added_tokens": [{"id": 1, "content": "<s>", "special": true}, {"id": 2, "content": "</s>", "special": true}],
  "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
    {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}})";

void decoding() {
  {
    auto d = TextDecoder::parse(kByteLevel, "byte_level.json");
    EXPECT(d && d->kind() == TextDecoder::Kind::ByteLevel);
    EXPECT(d->decode({0, 1, 2, 3, 5, 4, 7}) == "Hello world!\n caf\xC3\xA9");  // special <|im_end|> left out
    EXPECT(d->decode({8, 0}) == "<think>Hello");
    EXPECT(d->decode({6, 0}) == "\xEF\xBF\xBDHello");  // a lone C3 byte: one U+FFFD
    EXPECT(d->decode({0, 6, 6, 1}) == "Hello\xEF\xBF\xBD\xEF\xBF\xBD world");  // C3 C3 20: each C3 its own invalid part
    EXPECT(d->decode({99, 0}) == "Hello");             // an id outside the vocabulary gives nothing
  }
  {
    auto d = TextDecoder::parse(kSentencePiece, "sentencepiece.json");
    EXPECT(d && d->kind() == TextDecoder::Kind::SentencePiece);
    EXPECT(d->decode({1, 6, 7, 8, 3, 9, 4, 5, 2}) == "Hello world!\n caf\xC3\xA9");  // <0xC3><0xA9> is é
    EXPECT(d->decode({6, 4, 7}) == "Hello\xEF\xBF\xBD world");                     // invalid byte run: U+FFFD per byte
    EXPECT(d->decode({4, 4}) == "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT(d->decode({8, 6}) == "! Hello");  // only the text's leading space is stripped
  }
  {  // A Metaspace decoder (newer Llama/Mistral tokenizer.json) strips the first token's space.
    std::string j = kSentencePiece;
    j = j.substr(0, j.find("\"decoder\"")) + R"("decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true}})";
    auto d = TextDecoder::parse(j, "metaspace.json");
    EXPECT(d && d->kind() == TextDecoder::Kind::SentencePiece && d->decode({6, 7, 8}) == "Hello world!");
  }
  {  // A decoder of neither family: a reason when asked for one, an error naming the field otherwise.
    std::string j = kSentencePiece;
    j = j.substr(0, j.find("\"decoder\"")) + R"("decoder": {"type": "WordPiece", "prefix": "##"}})";
    std::string why;
    EXPECT(!TextDecoder::parse(j, "wordpiece.json", &why) && why.find("wordpiece.json: field \"decoder\"") == 0);
    EXPECT_ERROR([&] { TextDecoder::parse(j, "wordpiece.json"); }, "bad_tokenizer", "field \"decoder\"");
    EXPECT_ERROR([&] { TextDecoder::parse(R"({"model": {}})", "t.json"); }, "bad_tokenizer", "t.json: field \"model.vocab\" is missing");
  }
  {  // From a model folder: none without tokenizer.json; tokenizer_config.json's
     // clean_up_tokenization_spaces joins " !" as transformers' decode does.
    const std::string dir = temp_dir();
    EXPECT(!TextDecoder::load(dir));
    write(dir + "/tokenizer.json", kSentencePiece);
    EXPECT(TextDecoder::load(dir)->decode({6, 8}) == "Hello!");
    const std::string spaced = std::string(kSentencePiece).replace(std::string(kSentencePiece).find("\"!\""), 3, "\"\u2581!\"");
    write(dir + "/tokenizer.json", spaced);
    EXPECT(TextDecoder::load(dir)->decode({6, 8}) == "Hello !");
    write(dir + "/tokenizer_config.json", R"({"clean_up_tokenization_spaces": true})");
    EXPECT(TextDecoder::load(dir)->decode({6, 8}) == "Hello!");
    std::remove((dir + "/tokenizer.json").c_str());
    std::remove((dir + "/tokenizer_config.json").c_str());
    std::remove(dir.c_str());
  }
}

}  // namespace

int main() {
  text_words();
  text_scores();
  decoding();

  // LCS of 1 2 3 4 5 and 1 3 5 6 is 1 3 5: P = 3/4, R = 3/5, F = 2PR / (P + R) = 2/3.
  EXPECT_NEAR(rouge_l_f1({1, 3, 5, 6}, {1, 2, 3, 4, 5}), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(rouge_l_f1({1, 2, 3}, {1, 2, 3}), 1.0, 1e-12);
  EXPECT_NEAR(rouge_l_f1({7, 8}, {1, 2, 3}), 0.0, 1e-12);
  EXPECT_NEAR(rouge_l_f1({}, {1}), 0.0, 1e-12);
  // Order matters for a subsequence: 3 2 1 against 1 2 3 shares one token in order.
  EXPECT_NEAR(rouge_l_f1({3, 2, 1}, {1, 2, 3}), 1.0 / 3.0, 1e-12);

  {  // Matching lengths, every order matched: (5/6 * 4/5 * 3/4 * 2/3)^(1/4) = (1/3)^(1/4).
    CorpusBleu b;
    b.add({1, 2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 7});
    EXPECT_NEAR(b.score(), 100.0 * std::pow(1.0 / 3.0, 0.25), 1e-9);
  }
  {  // Brevity penalty exp(1 - 5/4) and "exp" smoothing of the 3- and 4-gram orders with no
     // match: p3 = 1 / (2 * 2), p4 = 1 / (4 * 1); p1 = 2/4, p2 = 1/3.
    CorpusBleu b;
    b.add({1, 2, 3, 9}, {1, 2, 4, 5, 6});
    const double want = 100.0 * std::exp(1.0 - 5.0 / 4.0) * std::pow(0.5 * (1.0 / 3.0) * 0.25 * 0.25, 0.25);
    EXPECT_NEAR(b.score(), want, 1e-9);
    EXPECT(b.correct(3) == 0 && b.total(3) == 2 && b.total(4) == 1);
  }
  {  // Clipping: four 7s against a reference with one 7 match once.
    CorpusBleu b;
    b.add({7, 7, 7, 7}, {7, 1, 2, 3});
    EXPECT(b.correct(1) == 1 && b.total(1) == 4);
  }
  {  // Corpus level: counts and lengths are summed before the score, not averaged per pair.
    CorpusBleu b;
    b.add({1, 2, 3, 4}, {1, 2, 3, 4});
    b.add({5, 6, 7, 8, 9}, {5, 6, 7, 0, 9});
    // p1 = (4 + 4) / (4 + 5), p2 = (3 + 2) / (3 + 4), p3 = (2 + 1) / (2 + 3) (5 6 7 matches),
    // p4 = (1 + 0) / (1 + 2); lengths 9 = 9, so no brevity penalty.
    EXPECT_NEAR(b.score(), 100.0 * std::pow((8.0 / 9) * (5.0 / 7) * (3.0 / 5) * (1.0 / 3), 0.25), 1e-9);
  }
  {  // A hypothesis shorter than 4 tokens has no 4-gram: BLEU 0 (sacrebleu without effective order).
    CorpusBleu b;
    b.add({1, 2, 3}, {1, 2, 3});
    EXPECT_NEAR(b.score(), 0.0, 1e-12);
  }
  {  // No n-gram matches at all: sacrebleu's 0, before any smoothing.
    CorpusBleu b;
    b.add({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
    EXPECT_NEAR(b.score(), 0.0, 1e-12);
  }
  if (!g_failures) std::printf("test_eval_metrics: all checks passed\n");
  return g_failures ? 1 : 0;
}
