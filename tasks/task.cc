#include "tasks/task.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "tasks/fewshot.h"
#include "tasks/jsonl.h"
#include "tasks/math_answer.h"
#include "tasks/py_str.h"

namespace sigma::tasks {
namespace {

constexpr double kLn2 = 0.69314718055994530942;

std::string RawLoglikelihoods(const std::vector<Response>& responses) {
  std::string out = "[";
  for (const Response& r : responses) {
    for (const LoglikelihoodResult& ll : r.loglikelihoods) {
      if (out.size() > 1) out += ",";
      char buffer[64];
      std::snprintf(buffer, sizeof(buffer), "%.17g", ll.logprob);
      out += StrCat("{\"ll\":", std::isfinite(ll.logprob) ? buffer : "null",
                    ",\"greedy\":", ll.is_greedy ? "true" : "false",
                    ",\"tokens\":", ll.num_tokens, "}");
    }
  }
  return out + "]";
}

std::string RawTexts(const std::vector<Response>& responses) {
  if (responses.size() == 1) return responses[0].text;
  std::string out = "[";
  for (size_t i = 0; i < responses.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonString(responses[i].text, &out);
  }
  return out + "]";
}

StatusOr<bool> AnyGoldMatches(const ExactMatcher& matcher, const std::string& answer,
                              const std::vector<std::string>& golds) {
  for (const std::string& gold : golds) {
    SIGMA_ASSIGN_OR_RETURN(bool same, matcher.Matches(answer, gold));
    if (same) return true;
  }
  return false;
}

double Stat(const SampleScore& s, const std::string& key) {
  auto it = s.stats.find(key);
  return it == s.stats.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
}

}  // namespace

StatusOr<std::unique_ptr<Task>> Task::Load(const std::string& config_path,
                                           const TaskLoadOptions& options) {
  if (!FileExists(config_path)) return NotFoundError(config_path, ": task config not found");
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(config_path));
  SIGMA_ASSIGN_OR_RETURN(TaskConfig config, ParseTaskConfig(text, config_path, options));
  Sha256 hash;
  hash.Update(text);
  std::map<std::string, std::vector<Document>> loaded;
  for (const std::string& split : {config.test_split, config.fewshot_split}) {
    if (loaded.count(split) > 0) continue;
    const std::string& path = config.splits.at(split);
    if (!FileExists(path)) {
      return NotFoundError(config_path, ": dataset split '", split, "': file '", path,
                           "' not found");
    }
    SIGMA_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
    hash.Update(StrCat("\n", split, "\n", data.size(), "\n"));
    hash.Update(data);
    SIGMA_ASSIGN_OR_RETURN(loaded[split], ParseJsonl(data, path, config.doc_id_field));
  }
  std::vector<Document> docs = loaded[config.test_split];
  std::vector<Document> pool = loaded[config.fewshot_split];
  return Create(std::move(config), std::move(docs), std::move(pool), hash.FinalHex());
}

StatusOr<std::unique_ptr<Task>> Task::Create(TaskConfig config, std::vector<Document> docs,
                                             std::vector<Document> fewshot_pool,
                                             std::string hash) {
  std::unique_ptr<Task> task(new Task());
  task->fewshot_is_test_ = config.fewshot_split == config.test_split;
  task->config_ = std::move(config);
  task->docs_ = std::move(docs);
  task->fewshot_pool_ = task->fewshot_is_test_ ? task->docs_ : std::move(fewshot_pool);
  task->hash_ = std::move(hash);
  SIGMA_RETURN_IF_ERROR(task->Init());
  return task;
}

Status Task::Init() {
  if (docs_.empty()) {
    return InvalidArgumentError(config_.config_path, ": split '", config_.test_split,
                                "' has no documents");
  }
  if (config_.fewshot_sampler == FewshotSampler::kPythonRandom && config_.num_fewshot > 0) {
    auto draws = SampleFewshotInSplitOrder(
        docs_.size(), fewshot_pool_.size(), static_cast<size_t>(config_.num_fewshot),
        config_.fewshot_seed, fewshot_is_test_,
        [&](size_t d, size_t p) { return *fewshot_pool_[p].fields == *docs_[d].fields; });
    if (!draws.ok()) return draws.status().WithContext(config_.config_path);
    split_order_examples_ = std::move(*draws);
  }
  for (size_t i = 0; i < config_.metrics.size(); ++i) {
    SIGMA_ASSIGN_OR_RETURN(ExactMatcher m,
                           ExactMatcher::Create(config_.metrics[i].exact_match,
                                                StrCat(config_.config_path, ": metrics[", i, "]")));
    matchers_.push_back(std::move(m));
  }
  return Status::Ok();
}

std::string Task::version() const {
  return StrCat(config_.version, "-", hash_.substr(0, 12));
}

Status Task::Context(const Document& doc, Status status) const {
  return status.WithContext(StrCat("task ", config_.name, ", document '", doc.id, "'"));
}

StatusOr<std::vector<size_t>> Task::FewshotExamples(const Document& doc) const {
  if (config_.fewshot_sampler == FewshotSampler::kPythonRandom) {
    if (doc.index < 0 || static_cast<size_t>(doc.index) >= split_order_examples_.size()) {
      return InvalidArgumentError("few-shot: document index ", doc.index, " is not in the split");
    }
    return split_order_examples_[static_cast<size_t>(doc.index)];
  }
  std::vector<size_t> candidates;
  const rapidjson::Value* key = nullptr;
  if (!config_.fewshot_same_field.empty()) {
    auto it = doc.fields->FindMember(config_.fewshot_same_field.c_str());
    if (it == doc.fields->MemberEnd()) {
      return NotFoundError("few-shot same_field '", config_.fewshot_same_field,
                           "' is missing from the document");
    }
    key = &it->value;
  }
  for (size_t i = 0; i < fewshot_pool_.size(); ++i) {
    if (key != nullptr) {
      auto it = fewshot_pool_[i].fields->FindMember(config_.fewshot_same_field.c_str());
      if (it == fewshot_pool_[i].fields->MemberEnd() || it->value != *key) continue;
    }
    candidates.push_back(i);
  }
  std::optional<size_t> exclude;
  if (fewshot_is_test_) exclude = static_cast<size_t>(doc.index);
  return SampleFewshot(candidates, static_cast<size_t>(config_.num_fewshot), config_.fewshot_seed,
                       doc.id, exclude, config_.fewshot_sampler);
}

StatusOr<size_t> Task::GoldIndex(const Document& doc, size_t num_choices) const {
  // Choices and labels read from a document's fields can be empty or differ in number.
  if (num_choices == 0) return InvalidArgumentError("the document has no choices");
  SIGMA_ASSIGN_OR_RETURN(std::string gold, config_.gold.Render(*doc.fields));
  if (config_.choice_labels.present) {
    SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> labels,
                           config_.choice_labels.Render(*doc.fields));
    if (labels.size() != num_choices) {
      return InvalidArgumentError(labels.size(), " choice labels for ", num_choices, " choices");
    }
    auto it = std::find(labels.begin(), labels.end(), gold);
    if (it == labels.end()) {
      std::string all;
      for (const auto& l : labels) all += (all.empty() ? "" : ", ") + l;
      return InvalidArgumentError("gold '", gold, "' is not one of the choice labels [", all, "]");
    }
    return static_cast<size_t>(it - labels.begin());
  }
  char* end = nullptr;
  const long long index = std::strtoll(gold.c_str(), &end, 10);
  if (gold.empty() || *end != '\0' || index < 0 || static_cast<size_t>(index) >= num_choices) {
    return InvalidArgumentError("gold '", gold, "' is not a choice index 0..", num_choices - 1);
  }
  return static_cast<size_t>(index);
}

std::string Task::Example::Text(const TaskConfig& config) const {
  // With a continuation (Winogrande) the question ends with the choice the answer completes.
  return question + config.target_delimiter + answer;
}

StatusOr<Task::Example> Task::MakeExample(const Document& doc) const {
  SIGMA_ASSIGN_OR_RETURN(std::string text, config_.prompt.Render(*doc.fields));
  if (!config_.target.empty()) {
    SIGMA_ASSIGN_OR_RETURN(std::string target, config_.target.Render(*doc.fields));
    return Example{std::move(text), std::move(target)};
  }
  SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> choices, config_.choices.Render(*doc.fields));
  SIGMA_ASSIGN_OR_RETURN(size_t gold, GoldIndex(doc, choices.size()));
  if (config_.continuation.empty()) return Example{std::move(text), choices[gold]};
  SIGMA_ASSIGN_OR_RETURN(std::string continuation, config_.continuation.Render(*doc.fields));
  return Example{text + choices[gold], std::move(continuation)};
}

StatusOr<std::vector<ChatMessage>> Task::ChatMessages(const Document& doc,
                                                      const std::string& question) const {
  std::vector<ChatMessage> chat;
  std::string system = config_.system;
  if (!config_.preamble.empty()) {
    auto preamble = config_.preamble.Render(*doc.fields);
    if (!preamble.ok()) return Context(doc, preamble.status());
    // Joined as lm-eval's maybe_delimit: the delimiter only where neither side has whitespace.
    if (!system.empty() && !preamble->empty() && py::RStrip(system).size() == system.size() &&
        py::LStrip(*preamble).size() == preamble->size()) {
      system += config_.fewshot_delimiter;
    }
    system += *preamble;
  }
  if (!system.empty()) chat.push_back({"system", std::move(system)});
  SIGMA_ASSIGN_OR_RETURN(std::vector<Example> examples, ExamplesFor(doc));
  std::string user;
  for (const Example& example : examples) {
    if (config_.fewshot_as_multiturn) {
      chat.push_back({"user", example.question});
      chat.push_back({"assistant", example.answer});
    } else {
      user += example.Text(config_) + config_.fewshot_delimiter;
    }
  }
  chat.push_back({"user", user + question});
  return chat;
}

StatusOr<std::vector<Task::Example>> Task::ExamplesFor(const Document& doc) const {
  std::vector<Example> out;
  if (config_.num_fewshot == 0) return out;
  auto examples = FewshotExamples(doc);
  if (!examples.ok()) return Context(doc, examples.status());
  for (size_t i : *examples) {
    const Document& ex = fewshot_pool_[i];
    auto example = MakeExample(ex);
    if (!example.ok()) return Context(ex, example.status().WithContext("few-shot example"));
    out.push_back(*std::move(example));
  }
  return out;
}

StatusOr<std::string> Task::BuildPrompt(const Document& doc) const {
  std::string prompt;
  if (!config_.preamble.empty()) {
    SIGMA_ASSIGN_OR_RETURN(prompt, config_.preamble.Render(*doc.fields));
  }
  SIGMA_ASSIGN_OR_RETURN(std::vector<Example> examples, ExamplesFor(doc));
  for (const Example& example : examples) {
    prompt += example.Text(config_) + config_.fewshot_delimiter;
  }
  auto text = config_.prompt.Render(*doc.fields);
  if (!text.ok()) return Context(doc, text.status());
  return prompt + *text;
}

StatusOr<std::vector<Request>> Task::BuildRequests(const Document& doc) const {
  Request request;
  request.type = config_.request_type;
  if (config_.request_type == RequestType::kLoglikelihoodRolling) {
    auto text = config_.prompt.Render(*doc.fields);
    if (!text.ok()) return Context(doc, text.status());
    request.continuations.push_back(std::move(*text));
    return std::vector<Request>{std::move(request)};
  }
  SIGMA_ASSIGN_OR_RETURN(request.context, BuildPrompt(doc));
  auto question = config_.prompt.Render(*doc.fields);
  if (!question.ok()) return Context(doc, question.status());
  // `suffix`: what a request's context adds to the document's prompt (a Winogrande choice).
  const auto as_chat = [&](Request& r, const std::string& suffix) -> Status {
    if (!config_.chat_template) return Status::Ok();
    SIGMA_ASSIGN_OR_RETURN(r.chat, ChatMessages(doc, *question + suffix));
    return Status::Ok();
  };
  // Between a multiple-choice context and what is scored: with the chat template, nothing (as
  // lm-eval does under apply_chat_template: the rendered prompt ends the assistant's header).
  const std::string choice_delimiter = config_.chat_template ? "" : config_.target_delimiter;
  std::vector<Request> requests;
  if (!config_.continuation.empty()) {
    // One request a choice: the context it completes, the same continuation scored after each.
    auto choices = config_.choices.Render(*doc.fields);
    if (!choices.ok()) return Context(doc, choices.status());
    auto gold = GoldIndex(doc, choices->size());
    if (!gold.ok()) return Context(doc, gold.status());
    auto continuation = config_.continuation.Render(*doc.fields);
    if (!continuation.ok()) return Context(doc, continuation.status());
    for (const std::string& choice : *choices) {
      Request r = request;
      r.context += choice;
      r.continuations.push_back(choice_delimiter + *continuation);
      SIGMA_RETURN_IF_ERROR(as_chat(r, choice));
      requests.push_back(std::move(r));
    }
    return requests;
  }
  SIGMA_RETURN_IF_ERROR(as_chat(request, ""));
  if (config_.request_type == RequestType::kGenerateUntil) {
    request.stop = config_.until;
    request.max_tokens = config_.max_tokens;
    for (int64_t i = 0; i < config_.num_samples; ++i) {
      request.repeat = static_cast<int>(i);
      requests.push_back(request);
    }
    return requests;
  }
  if (config_.request_type == RequestType::kLoglikelihood) {
    auto gold = config_.gold.Render(*doc.fields);
    if (!gold.ok()) return Context(doc, gold.status());
    request.continuations.push_back(config_.target_delimiter + *gold);
  } else {
    auto choices = config_.choices.Render(*doc.fields);
    if (!choices.ok()) return Context(doc, choices.status());
    auto gold = GoldIndex(doc, choices->size());  // validated now, so bad data fails early
    if (!gold.ok()) return Context(doc, gold.status());
    for (const std::string& choice : *choices) {
      request.continuations.push_back(choice_delimiter + choice);
    }
  }
  requests.push_back(std::move(request));
  return requests;
}

std::string Task::MetricSuffix(size_t filter) const {
  return config_.filters.size() > 1 ? "," + config_.filters[filter].name() : "";
}

Status Task::ScoreGenerate(const Document& doc, const std::vector<Response>& responses,
                           SampleScore* score) const {
  std::vector<std::string> texts;
  for (const Response& r : responses) texts.push_back(r.text);
  SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> golds, config_.gold.RenderList(*doc.fields));
  score->target = golds.empty() ? "" : golds[0];
  for (size_t f = 0; f < config_.filters.size(); ++f) {
    SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> answers, config_.filters[f].Apply(texts));
    const std::string answer = answers.empty() ? "" : answers[0];
    score->extracted_by_filter[config_.filters[f].name()] = answer;
    if (f == 0) score->extracted = answer;
    const std::string suffix = MetricSuffix(f);
    for (size_t m = 0; m < config_.metrics.size(); ++m) {
      const MetricSpec& spec = config_.metrics[m];
      if (spec.name == "exact_match") {
        SIGMA_ASSIGN_OR_RETURN(bool hit, AnyGoldMatches(matchers_[m], answer, golds));
        score->metrics["exact_match" + suffix] = hit ? 1.0 : 0.0;
      } else if (spec.name == "pass@k") {
        // Each generation is filtered on its own (take_first does not apply across samples).
        int64_t correct = 0;
        for (const std::string& text : texts) {
          SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> one, config_.filters[f].Apply({text}));
          SIGMA_ASSIGN_OR_RETURN(bool hit, AnyGoldMatches(matchers_[m], one.empty() ? "" : one[0],
                                                          golds));
          correct += hit ? 1 : 0;
        }
        for (int64_t k : spec.k) {
          SIGMA_ASSIGN_OR_RETURN(double p,
                                 PassAtK(static_cast<int64_t>(texts.size()), correct, k));
          score->metrics[StrCat("pass@", k, suffix)] = p;
        }
      } else if (spec.name == "math_equiv") {
        bool same = false;
        for (const std::string& g : golds) same = same || math::IsEquiv(answer, g);
        score->metrics["math_equiv" + suffix] = same ? 1.0 : 0.0;
      } else if (spec.name == "f1") {
        double best = 0;
        for (const std::string& g : golds) best = std::max(best, TokenF1(answer, g));
        score->metrics["f1" + suffix] = best;
      } else if (spec.name == "bleu") {
        BleuStats stats = ComputeBleuStats(answer, golds);
        score->metrics["bleu" + suffix] = CorpusBleu({stats});
        std::map<std::string, double> raw;
        AddBleuStats(stats, &raw);
        for (const auto& [key, value] : raw) score->stats[key + suffix] = value;
      }
    }
  }
  return Status::Ok();
}

Status Task::ScoreMultipleChoice(const Document& doc, const std::vector<Response>& responses,
                                 SampleScore* score) const {
  SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> choices, config_.choices.Render(*doc.fields));
  SIGMA_ASSIGN_OR_RETURN(size_t gold, GoldIndex(doc, choices.size()));
  // One response with a log-likelihood per choice, or (a continuation task) one per choice.
  std::vector<LoglikelihoodResult> lls;
  for (const Response& r : responses) {
    lls.insert(lls.end(), r.loglikelihoods.begin(), r.loglikelihoods.end());
  }
  if (lls.size() != choices.size() ||
      responses.size() != (config_.continuation.empty() ? 1 : choices.size())) {
    score->error = StrCat("backend returned ", lls.size(), " log-likelihoods in ", responses.size(),
                          " responses for ", choices.size(), " choices");
    return Status::Ok();
  }
  // The first choice with the highest log-likelihood divided by length(choice) (1: none).
  const auto argmax_per = [&](auto length) {
    const auto score_of = [&](size_t i) {
      return lls[i].logprob / static_cast<double>(std::max<size_t>(1, length(choices[i])));
    };
    size_t best = 0;
    for (size_t i = 1; i < choices.size(); ++i) {
      if (score_of(i) > score_of(best)) best = i;
    }
    return best;
  };
  const size_t best = argmax_per([](const std::string&) { return size_t{1}; });
  const size_t best_norm = argmax_per([](const std::string& c) { return py::Len(c); });
  const size_t best_bytes = argmax_per([](const std::string& c) { return c.size(); });
  score->target = choices[gold];
  score->extracted = choices[best];
  score->stats["gold"] = static_cast<double>(gold);
  score->stats["pred"] = static_cast<double>(best);
  for (const MetricSpec& spec : config_.metrics) {
    if (spec.name == "acc") score->metrics["acc"] = best == gold ? 1.0 : 0.0;
    if (spec.name == "acc_norm") score->metrics["acc_norm"] = best_norm == gold ? 1.0 : 0.0;
    if (spec.name == "acc_bytes") score->metrics["acc_bytes"] = best_bytes == gold ? 1.0 : 0.0;
  }
  return Status::Ok();
}

void Task::ScoreLoglikelihood(const Document& doc, const std::vector<Response>& responses,
                              SampleScore* score) const {
  const LoglikelihoodResult& ll = responses[0].loglikelihoods[0];
  const double tokens = static_cast<double>(std::max<int64_t>(1, ll.num_tokens));
  score->stats["ll"] = ll.logprob;
  score->stats["tokens"] = tokens;
  if (config_.request_type == RequestType::kLoglikelihood) {
    auto gold = config_.gold.Render(*doc.fields);
    score->target = gold.ok() ? *gold : "";
    score->stats["docs"] = 1;
    for (const MetricSpec& spec : config_.metrics) {
      if (spec.name == "acc") score->metrics["acc"] = ll.is_greedy ? 1.0 : 0.0;
      if (spec.name == "perplexity") score->metrics["perplexity"] = std::exp(-ll.logprob);
    }
    return;
  }
  auto text = config_.prompt.Render(*doc.fields);
  const std::string body = text.ok() ? *text : "";
  const double bytes = static_cast<double>(std::max<size_t>(1, body.size()));
  const double words = static_cast<double>(std::max<int64_t>(1, CountWords(body)));
  score->stats["bytes"] = bytes;
  score->stats["words"] = words;
  for (const MetricSpec& spec : config_.metrics) {
    const std::string& n = spec.name;
    if (n == "perplexity") score->metrics[n] = std::exp(-ll.logprob / tokens);
    if (n == "word_perplexity") score->metrics[n] = std::exp(-ll.logprob / words);
    if (n == "byte_perplexity") score->metrics[n] = std::exp(-ll.logprob / bytes);
    if (n == "bits_per_byte") score->metrics[n] = -ll.logprob / (bytes * kLn2);
  }
}

StatusOr<SampleScore> Task::Score(const Document& doc,
                                  const std::vector<Response>& responses) const {
  SampleScore score;
  const bool generate = config_.request_type == RequestType::kGenerateUntil;
  score.raw_output = generate ? RawTexts(responses) : RawLoglikelihoods(responses);
  // A continuation task's count depends on the document's choices (ScoreMultipleChoice).
  const size_t expected = generate ? static_cast<size_t>(config_.num_samples) : 1;
  if (config_.continuation.empty() && responses.size() != expected) {
    score.error = StrCat("expected ", expected, " responses, got ", responses.size());
    return score;
  }
  for (const Response& r : responses) {
    if (!r.error.empty()) {
      score.error = r.error;
      return score;
    }
  }
  Status status;
  if (generate) {
    status = ScoreGenerate(doc, responses, &score);
  } else if (config_.request_type == RequestType::kMultipleChoice) {
    status = ScoreMultipleChoice(doc, responses, &score);
  } else if (responses[0].loglikelihoods.size() != 1) {
    score.error = StrCat("expected 1 log-likelihood, got ", responses[0].loglikelihoods.size());
  } else {
    ScoreLoglikelihood(doc, responses, &score);
  }
  if (!status.ok()) return Context(doc, status);
  if (!score.error.empty()) score.metrics.clear();
  return score;
}

std::vector<std::string> Task::MetricNames() const {
  std::vector<std::string> names;
  const size_t filters = config_.request_type == RequestType::kGenerateUntil
                             ? config_.filters.size() : 1;
  for (size_t f = 0; f < filters; ++f) {
    const std::string suffix = MetricSuffix(f);
    for (const MetricSpec& spec : config_.metrics) {
      if (spec.name == "pass@k") {
        for (int64_t k : spec.k) names.push_back(StrCat("pass@", k, suffix));
      } else {
        names.push_back(spec.name + suffix);
      }
    }
  }
  return names;
}

std::vector<Aggregate> Task::AggregateScores(const std::vector<SampleScore>& samples,
                                             const AggregateOptions& options) const {
  std::vector<Aggregate> out;
  for (const std::string& name : MetricNames()) {
    const std::string base = name.substr(0, name.find(','));
    const std::string suffix = name.substr(base.size());
    std::vector<const SampleScore*> used;
    for (const SampleScore& s : samples) {
      if (s.error.empty() && s.metrics.count(name) > 0) used.push_back(&s);
    }
    const int64_t n = static_cast<int64_t>(used.size());
    if (IsMeanMetric(base)) {
      std::vector<double> values;
      for (const SampleScore* s : used) values.push_back(s->metrics.at(name));
      out.push_back(AggregateMean(name, values, options));
    } else if (base == "bleu") {
      out.push_back(AggregateCorpus(name, n, [&](const std::vector<size_t>& idx) {
        std::vector<BleuStats> stats;
        for (size_t i : idx) {
          std::map<std::string, double> raw;
          for (const auto& [key, value] : used[i]->stats) {
            if (key.size() >= suffix.size() &&
                key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0) {
              raw[key.substr(0, key.size() - suffix.size())] = value;
            }
          }
          stats.push_back(BleuStatsFrom(raw));
        }
        return CorpusBleu(stats);
      }, options));
    } else {
      const bool per_doc = config_.request_type == RequestType::kLoglikelihood;
      const std::string unit = base == "perplexity"        ? (per_doc ? "docs" : "tokens")
                               : base == "word_perplexity" ? "words"
                                                           : "bytes";
      out.push_back(AggregateCorpus(name, n, [&](const std::vector<size_t>& idx) {
        double ll = 0, units = 0;
        for (size_t i : idx) {
          ll += Stat(*used[i], "ll");
          units += Stat(*used[i], unit);
        }
        return base == "bits_per_byte" ? -ll / (units * kLn2) : std::exp(-ll / units);
      }, options));
    }
  }
  return out;
}

}  // namespace sigma::tasks
