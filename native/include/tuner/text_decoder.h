// Token ids -> text, as a Hugging Face tokenizer's decode(ids, skip_special_tokens=True) gives it,
// from the model folder's tokenizer.json: the vocabulary (model.vocab) and added_tokens name each
// id's token, special added tokens are left out, and the decoder section says how tokens become
// text. Two families are read:
//   byte-level (GPT-2, Llama 3, Qwen2; decoder "ByteLevel"): each character of a token maps back
//       through GPT-2's bytes_to_unicode table to one byte;
//   SentencePiece-style (Llama 2, Mistral; decoders Replace "▁"->" ", ByteFallback, Fuse, Strip,
//       or "Metaspace"): "▁" is a space, <0xNN> tokens are bytes, the leading space is dropped.
// Used by the trainer's generation metrics (eval_generate.cpp) to score answers as text.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tuner {

class Json;

class TextDecoder {
 public:
  enum class Kind { ByteLevel, SentencePiece };

  // The decoder of `dir`/tokenizer.json; nullptr when the folder has no tokenizer.json.
  // Throws TunerError "bad_tokenizer" (naming the file and field) when it cannot be read, or when
  // its decoder is neither family (`why_unsupported` gets the reason instead, when given).
  static std::unique_ptr<TextDecoder> load(const std::string& dir, std::string* why_unsupported = nullptr);
  // From tokenizer.json's text; `source` is named in errors.
  static std::unique_ptr<TextDecoder> parse(const std::string& json_text, const std::string& source, std::string* why_unsupported = nullptr);

  // UTF-8 text of `ids`; ids outside the vocabulary and special tokens give nothing; bytes that are
  // not valid UTF-8 become U+FFFD as the Hugging Face decoders make them.
  std::string decode(const std::vector<uint32_t>& ids) const;
  Kind kind() const { return kind_; }

 private:
  static std::unique_ptr<TextDecoder> from_json(const Json& tok, const std::string& source, std::string* why_unsupported);
  Kind kind_ = Kind::ByteLevel;
  bool strip_fused_ = false;                     // SentencePiece "Strip" after "Fuse": one leading space of the text
  bool strip_first_ = false;                     // "Metaspace": the first token's leading "▁"
  bool cleanup_spaces_ = false;                  // tokenizer_config.json clean_up_tokenization_spaces
  std::vector<std::string> tokens_;              // id -> token as the vocabulary spells it
  std::vector<char> special_;                    // id -> special added token (skipped)
};

}  // namespace tuner
