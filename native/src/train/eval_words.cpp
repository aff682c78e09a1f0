// Words of a text as the reference metric libraries split it (tuner/eval_metrics.h):
// rouge_score's tokenize.tokenize without a stemmer, and sacrebleu's Tokenizer13a followed by
// str.split(). Both work on UTF-8 bytes: every rule that looks at a character looks at an ASCII
// one, and a byte of a multi-byte character is never ASCII, so byte and code point rules agree.
#include <cstddef>
#include <string>
#include <vector>

#include "tuner/eval_metrics.h"

namespace tuner {

namespace {

// Length of the whitespace character (Python's str.isspace) starting at s[i], 0 when none.
size_t space_at(const std::string& s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (c == 0xC2 && (at(1) == 0x85 || at(1) == 0xA0)) return 2;                       // U+0085, U+00A0
  if (c == 0xE1 && at(1) == 0x9A && at(2) == 0x80) return 3;                         // U+1680
  if (c == 0xE2 && at(1) == 0x80 && (at(2) <= 0x8A || at(2) == 0xA8 || at(2) == 0xA9 || at(2) == 0xAF)) return 3;  // U+2000-200A, 2028, 2029, 202F
  if (c == 0xE2 && at(1) == 0x81 && at(2) == 0x9F) return 3;                         // U+205F
  if (c == 0xE3 && at(1) == 0x80 && at(2) == 0x80) return 3;                         // U+3000
  return 0;
}

// Python's str.split(): runs of non-whitespace.
std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < s.size();) {
    if (size_t n = space_at(s, i)) {
      if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
      i += n;
    } else {
      cur += s[i++];
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// One re.sub pass of a two-character pattern: matches are found left to right, never overlapping.
template <typename Match, typename Emit>
std::string sub_pairs(const std::string& s, Match match, Emit emit) {
  std::string out;
  size_t i = 0;
  for (; i + 1 < s.size();) {
    if (match(s[i], s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out += s[i++];
    }
  }
  if (i < s.size()) out += s[i];
  return out;
}

}  // namespace

std::vector<std::string> rouge_words(const std::string& text) {
  std::string t;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    // str.lower() turns only these into [a-z0-9]: ASCII capitals, KELVIN SIGN (U+212A) into "k"
    // and LATIN CAPITAL I WITH DOT (U+0130) into "i" + a combining dot, which then separates.
    if (c >= 'A' && c <= 'Z') t += static_cast<char>(c - 'A' + 'a');
    else if ((c >= 'a' && c <= 'z') || digit(static_cast<char>(c))) t += static_cast<char>(c);
    else if (c == 0xE2 && text.compare(i, 3, "\xE2\x84\xAA") == 0) t += 'k', i += 2;
    else if (c == 0xC4 && text.compare(i, 2, "\xC4\xB0") == 0) t += "i ", i += 1;
    else t += ' ';
  }
  return split_spaces(t);
}

std::vector<std::string> bleu_words_13a(const std::string& text) {
  std::string line = text;
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 ": ASCII punctuation but ' , - . (and the space itself).
  std::string a = " ";
  for (char c : line) {
    const bool punct = (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
                       (c >= ':' && c <= '@') || c == '/';
    if (punct) a += ' ', a += c, a += ' ';
    else a += c;
  }
  a += ' ';
  auto period = [](char c) { return c == '.' || c == ','; };
  // ([^0-9])([\.,]) -> "\1 \2 "
  a = sub_pairs(a, [&](char x, char y) { return !digit(x) && period(y); }, [](std::string& o, char x, char y) { o += x, o += ' ', o += y, o += ' '; });
  // ([\.,])([^0-9]) -> " \1 \2"
  a = sub_pairs(a, [&](char x, char y) { return period(x) && !digit(y); }, [](std::string& o, char x, char y) { o += ' ', o += x, o += ' ', o += y; });
  // ([0-9])(-) -> "\1 \2 "
  a = sub_pairs(a, [](char x, char y) { return digit(x) && y == '-'; }, [](std::string& o, char x, char y) { o += x, o += ' ', o += y, o += ' '; });
  return split_spaces(a);
}

std::vector<uint32_t> WordIds::ids(const std::vector<std::string>& words) {
  std::vector<uint32_t> out;
  out.reserve(words.size());
  for (const std::string& w : words) out.push_back(table_.emplace(w, static_cast<uint32_t>(table_.size())).first->second);
  return out;
}

}  // namespace tuner
