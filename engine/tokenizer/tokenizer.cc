#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <queue>

#include "engine/base/file.h"
#include "engine/base/unicode_tables.h"
#include "engine/tokenizer/pre_tokenizer.h"

namespace sigma {
namespace {

constexpr std::string_view kSpmSpace = "\xe2\x96\x81";  // U+2581

// Bytes of the Unicode White_Space character (Rust's char::is_whitespace, what Hugging Face's
// lstrip / rstrip of an added token drop) that starts at text[pos], or 0.
size_t WhitespaceAt(std::string_view text, size_t pos) {
  uint32_t cp;
  bool valid;
  const size_t len = Utf8Next(text, pos, &cp, &valid);
  return valid && unicode::IsWhitespace(cp) ? len : 0;
}

// Bytes of the White_Space character that ends at text[end - 1] (not before `begin`), or 0.
size_t WhitespaceBefore(std::string_view text, size_t begin, size_t end) {
  size_t start = end - 1;
  while (start > begin && end - start < 4 && (static_cast<uint8_t>(text[start]) & 0xc0) == 0x80) {
    --start;
  }
  return WhitespaceAt(text, start) == end - start ? end - start : 0;
}

uint64_t PairKey(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// "<0x0A>" -> 10, else -1.
int ParseByteToken(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  int v = 0;
  for (char c : t.substr(3, 2)) {
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else
      return -1;
  }
  return v;
}

struct Symbol {
  size_t start;
  size_t len;  // 0 once merged into its left neighbour
  int32_t id;
  int prev;
  int next;
};

struct Candidate {
  double priority;  // lower merges first
  int left;
  int right;
  size_t len;
  int32_t result;
  bool operator<(const Candidate& o) const {  // priority_queue pops the "largest"
    if (priority != o.priority) return priority > o.priority;
    return left > o.left;
  }
};

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromSpec(Spec spec) {
  std::unique_ptr<Tokenizer> t(new Tokenizer(std::move(spec)));
  SIGMA_RETURN_IF_ERROR(t->Build());
  return t;
}

Status Tokenizer::Build() {
  const std::string& src = spec_.source;
  if (spec_.vocab.empty()) return InvalidArgumentError(src, ": empty vocabulary");
  const int64_t n = vocab_size();
  if (n > (int64_t{1} << 30)) return InvalidArgumentError(src, ": vocabulary of ", n, " tokens");
  token_to_id_.reserve(n);
  token_byte_.assign(n, -1);
  for (int32_t id = 0; id < n; ++id) {
    const std::string& text = spec_.vocab[id];
    if (text.empty()) continue;
    token_to_id_.emplace(text, id);  // the first id wins for duplicates
    if (spec_.kind == Kind::kSentencePiece || spec_.byte_fallback) {
      token_byte_[id] = ParseByteToken(text);
    }
  }
  auto check_id = [&](int32_t id, const char* what) -> Status {
    if (id < -1 || id >= n)
      return InvalidArgumentError(src, ": ", what, " id ", id, " out of range");
    return Status::Ok();
  };
  SIGMA_RETURN_IF_ERROR(check_id(spec_.unk_id, "unk"));
  SIGMA_RETURN_IF_ERROR(check_id(spec_.bos_id, "bos"));
  for (int32_t id : spec_.eos_ids) SIGMA_RETURN_IF_ERROR(check_id(id, "eos"));
  for (int32_t id : spec_.prefix_ids) SIGMA_RETURN_IF_ERROR(check_id(id, "post-processor"));
  for (int32_t id : spec_.suffix_ids) SIGMA_RETURN_IF_ERROR(check_id(id, "post-processor"));
  if (!spec_.scores.empty() && static_cast<int64_t>(spec_.scores.size()) != n) {
    return InvalidArgumentError(src, ": ", spec_.scores.size(), " scores for ", n, " tokens");
  }
  byte_ids_.assign(256, -1);
  for (int b = 0; b < 256; ++b) {
    std::string text =
        spec_.kind == Kind::kByteLevel
            ? ByteLevelMap::Get().Encode(static_cast<uint8_t>(b))
            : StrCat("<0x", "0123456789ABCDEF"[b >> 4], "0123456789ABCDEF"[b & 15], ">");
    if (auto it = token_to_id_.find(text); it != token_to_id_.end()) byte_ids_[b] = it->second;
  }
  is_added_.assign(n, 0);
  added_by_first_byte_.assign(256, {});
  for (const AddedToken& a : spec_.added) {
    if (a.id < 0 || a.id >= n || a.content.empty()) {
      return InvalidArgumentError(src, ": added token '", a.content, "' has id ", a.id);
    }
    is_added_[a.id] = a.special ? 1 : 2;
    added_by_first_byte_[static_cast<uint8_t>(a.content[0])].push_back(&a);
  }
  for (auto& list : added_by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [](const AddedToken* x, const AddedToken* y) {
      return x->content.size() > y->content.size();
    });
  }
  for (const std::string& pattern : spec_.split_patterns) {
    SIGMA_ASSIGN_OR_RETURN(auto splitter, RegexSplitter::Compile(pattern));
    splitters_.push_back(std::move(splitter));
  }
  return BuildMerges();
}

Status Tokenizer::BuildMerges() {
  merges_.reserve(spec_.merges.size());
  for (size_t rank = 0; rank < spec_.merges.size(); ++rank) {
    const auto& [a, b] = spec_.merges[rank];
    const int32_t ia = TokenId(a), ib = TokenId(b), ir = TokenId(a + b);
    if (ia < 0 || ib < 0 || ir < 0) {
      return InvalidArgumentError(spec_.source, ": merge #", rank, " '", a, " ", b,
                                  "' uses a token missing from the vocabulary");
    }
    merges_.emplace(PairKey(ia, ib), Merge{static_cast<int32_t>(rank), ir});
  }
  return Status::Ok();
}

int32_t Tokenizer::TokenId(std::string_view text) const {
  auto it = token_to_id_.find(std::string(text));
  return it == token_to_id_.end() ? -1 : it->second;
}

std::string_view Tokenizer::TokenText(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return spec_.vocab[id];
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && id < vocab_size() && is_added_[id] == 1;
}

void Tokenizer::SplitAdded(std::string_view text, std::vector<Segment>* out) const {
  size_t seg_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    const AddedToken* hit = nullptr;
    for (const AddedToken* a : added_by_first_byte_[static_cast<uint8_t>(text[i])]) {
      if (text.compare(i, a->content.size(), a->content) == 0) {
        hit = a;
        break;
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    size_t left_end = i;
    if (hit->lstrip) {
      for (size_t n; left_end > seg_start && (n = WhitespaceBefore(text, seg_start, left_end));) {
        left_end -= n;
      }
    }
    if (left_end > seg_start) out->push_back({text.substr(seg_start, left_end - seg_start), -1});
    out->push_back({{}, hit->id});
    i += hit->content.size();
    if (hit->rstrip) {
      for (size_t n; i < text.size() && (n = WhitespaceAt(text, i));) i += n;
    }
    seg_start = i;
  }
  if (seg_start < text.size()) out->push_back({text.substr(seg_start), -1});
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> ids;
  if (add_special) ids = spec_.prefix_ids;
  std::vector<Segment> segments;
  SplitAdded(text, &segments);
  bool first = true;
  for (const Segment& s : segments) {
    if (s.token >= 0) {
      ids.push_back(s.token);
    } else {
      EncodeSegment(s.text, first, &ids);
    }
    first = false;
  }
  if (add_special) ids.insert(ids.end(), spec_.suffix_ids.begin(), spec_.suffix_ids.end());
  return ids;
}

void Tokenizer::EncodeSegment(std::string_view text, bool first, std::vector<int32_t>* out) const {
  std::string normalized;
  if (spec_.kind == Kind::kSentencePiece) {
    if (spec_.add_space_prefix && (first || spec_.prefix_every_segment)) normalized = kSpmSpace;
    for (char c : text) {
      if (c == ' ')
        normalized.append(kSpmSpace);
      else
        normalized.push_back(c);
    }
    text = normalized;
  }
  std::vector<std::string_view> pieces{text};
  std::vector<std::string_view> next;
  for (const auto& splitter : splitters_) {
    next.clear();
    for (std::string_view p : pieces) splitter->Split(p, &next);
    pieces.swap(next);
  }
  std::string mapped;
  for (std::string_view p : pieces) {
    if (spec_.kind == Kind::kByteLevel) {
      mapped = ByteLevelMap::Get().EncodeAll(p);
      EncodeWord(mapped, out);
    } else {
      EncodeWord(p, out);
    }
  }
}

void Tokenizer::EncodeWord(std::string_view word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (spec_.ignore_merges) {
    if (int32_t id = TokenId(word); id >= 0) {
      out->push_back(id);
      return;
    }
  }
  std::vector<Symbol> syms;
  for (size_t pos = 0; pos < word.size();) {
    uint32_t cp;
    bool valid;
    const size_t len = Utf8Next(word, pos, &cp, &valid);
    const int n = static_cast<int>(syms.size());
    syms.push_back({pos, len, TokenId(word.substr(pos, len)), n - 1, -1});
    if (n > 0) syms[n - 1].next = n;
    pos += len;
  }
  const bool by_rank = !merges_.empty() || spec_.kind == Kind::kByteLevel;
  std::priority_queue<Candidate> heap;
  auto consider = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const Symbol& a = syms[l];
    const Symbol& b = syms[r];
    if (by_rank) {
      if (a.id < 0 || b.id < 0) return;
      auto it = merges_.find(PairKey(a.id, b.id));
      if (it == merges_.end()) return;
      heap.push({static_cast<double>(it->second.rank), l, r, a.len + b.len, it->second.result});
    } else {
      const int32_t id = TokenId(word.substr(a.start, a.len + b.len));
      if (id < 0) return;
      const double score = spec_.scores.empty() ? 0.0 : spec_.scores[id];
      heap.push({-score, l, r, a.len + b.len, id});
    }
  };
  for (int k = 0; k + 1 < static_cast<int>(syms.size()); ++k) consider(k, k + 1);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& a = syms[c.left];
    if (a.len == 0 || a.next != c.right || a.len + syms[c.right].len != c.len) continue;
    Symbol& b = syms[c.right];
    a.len += b.len;
    a.id = c.result;
    b.len = 0;
    a.next = b.next;
    if (b.next >= 0) syms[b.next].prev = c.left;
    consider(a.prev, c.left);
    consider(c.left, a.next);
  }
  for (int k = 0; k >= 0; k = syms[k].next)
    EmitSymbol(word, syms[k].start, syms[k].len, syms[k].id, out);
}

void Tokenizer::EmitSymbol(std::string_view word, size_t start, size_t len, int32_t id,
                           std::vector<int32_t>* out) const {
  if (id >= 0) {
    out->push_back(id);
    return;
  }
  if (spec_.kind == Kind::kSentencePiece || spec_.byte_fallback) {
    bool all = true;
    for (size_t k = 0; k < len; ++k)
      all = all && byte_ids_[static_cast<uint8_t>(word[start + k])] >= 0;
    if (all) {
      for (size_t k = 0; k < len; ++k)
        out->push_back(byte_ids_[static_cast<uint8_t>(word[start + k])]);
      return;
    }
  }
  // Byte-level: a byte whose symbol the vocabulary lacks is dropped, as HF tokenizers (unk_token
  // null) and llama.cpp do; SentencePiece-style: <unk>.
  if (spec_.kind == Kind::kSentencePiece && spec_.unk_id >= 0) out->push_back(spec_.unk_id);
}

void Tokenizer::DecodeToken(int32_t id, std::string* out) const {
  const std::string& text = spec_.vocab[id];
  if (is_added_[id] != 0) {
    out->append(text);
    return;
  }
  if (token_byte_[id] >= 0) {
    out->push_back(static_cast<char>(token_byte_[id]));
    return;
  }
  if (spec_.kind == Kind::kSentencePiece) {
    for (size_t pos = 0; pos < text.size();) {
      if (text.compare(pos, kSpmSpace.size(), kSpmSpace) == 0) {
        out->push_back(' ');
        pos += kSpmSpace.size();
      } else {
        out->push_back(text[pos++]);
      }
    }
    return;
  }
  const ByteLevelMap& map = ByteLevelMap::Get();
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    bool valid;
    const size_t len = Utf8Next(text, pos, &cp, &valid);
    const int byte = valid ? map.Decode(cp) : -1;
    if (byte >= 0)
      out->push_back(static_cast<char>(byte));
    else
      out->append(text.substr(pos, len));
    pos += len;
  }
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;
    if (skip_special && is_added_[id] == 1) continue;
    const size_t before = out.size();
    DecodeToken(id, &out);
    if (first && spec_.kind == Kind::kSentencePiece && spec_.add_space_prefix &&
        is_added_[id] == 0 && out.size() > before && out[before] == ' ') {
      out.erase(before, 1);
    }
    first = false;
  }
  return out;
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Open(const std::string& path) {
  if (IsDirectory(path)) {
    if (FileExists(path + "/tokenizer.json")) return FromTokenizerJson(path + "/tokenizer.json");
    std::vector<std::string> ggufs;  // a folder holding one GGUF file (models/smollm2-*)
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().string();
      if (IsGgufPath(name)) ggufs.push_back(name);
    }
    if (ggufs.size() != 1) {
      return NotFoundError(path, ": no tokenizer.json and ", ggufs.size(),
                           " .gguf files (expected one)");
    }
    return Open(ggufs[0]);
  }
  if (IsGgufPath(path)) {
    SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::Open(path));
    return FromGguf(*file);
  }
  return FromTokenizerJson(path);
}

}  // namespace sigma
