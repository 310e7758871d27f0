#include "tasks/task_config.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "engine/base/json.h"
#include "tasks/jsonl.h"

namespace sigma::tasks {
namespace {

using Allowed = std::set<std::string, std::less<>>;

const std::map<RequestType, Allowed>& AllowedMetrics() {
  static const auto* allowed = new std::map<RequestType, Allowed>{
      {RequestType::kGenerateUntil, {"exact_match", "f1", "bleu", "pass@k", "math_equiv"}},
      {RequestType::kLoglikelihood, {"acc", "perplexity"}},
      {RequestType::kLoglikelihoodRolling,
       {"perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte"}},
      {RequestType::kMultipleChoice, {"acc", "acc_norm", "acc_bytes"}},
  };
  return *allowed;
}

// A JsonFields over the object at `key`; NOT_FOUND-free: an absent key gives an empty object.
StatusOr<const rapidjson::Value*> SubObject(JsonFields& parent, const char* key, bool required) {
  const rapidjson::Value* value = parent.Find(key);
  if (value == nullptr) {
    if (required) {
      return InvalidArgumentError(parent.context(), ": missing required object '", key, "'");
    }
    return static_cast<const rapidjson::Value*>(nullptr);
  }
  if (!value->IsObject()) return parent.TypeError(key, "an object", *value);
  return value;
}

Status ParseTemplate(JsonFields& f, const char* key, bool required, Template* out) {
  std::string text;
  SIGMA_RETURN_IF_ERROR(required ? f.RequireString(key, &text) : f.OptionalString(key, &text));
  if (!f.Has(key)) return Status::Ok();
  SIGMA_ASSIGN_OR_RETURN(*out, Template::Parse(text, StrCat(f.context(), ": ", key)));
  return Status::Ok();
}

Status ParseTemplateList(JsonFields& f, const char* key, TemplateList* out) {
  const rapidjson::Value* v = f.Find(key);
  if (v == nullptr) return Status::Ok();
  out->present = true;
  const std::string where = StrCat(f.context(), ": ", key);
  if (v->IsString()) {
    out->from_field = true;
    SIGMA_ASSIGN_OR_RETURN(out->field, Template::Parse(v->GetString(), where));
    return Status::Ok();
  }
  if (!v->IsArray()) return f.TypeError(key, "a template string or an array of strings", *v);
  if (v->Empty()) return InvalidArgumentError(where, ": expected at least one item, got []");
  for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
    if (!(*v)[i].IsString()) return f.TypeError(key, "an array of strings", (*v)[i]);
    SIGMA_ASSIGN_OR_RETURN(Template t,
                           Template::Parse((*v)[i].GetString(), StrCat(where, "[", i, "]")));
    out->items.push_back(std::move(t));
  }
  return Status::Ok();
}

std::string ResolvePath(const std::string& config_path, const std::string& name,
                        const std::string& relative, const TaskLoadOptions& options) {
  namespace fs = std::filesystem;
  if (fs::path(relative).is_absolute()) return relative;
  if (!options.data_dir.empty()) return (fs::path(options.data_dir) / name / relative).string();
  return (fs::path(config_path).parent_path() / relative).string();
}

Status ParseDataset(JsonFields& top, const TaskLoadOptions& options, TaskConfig* c) {
  SIGMA_ASSIGN_OR_RETURN(const rapidjson::Value* value, SubObject(top, "dataset", true));
  JsonFields f(*value, StrCat(top.context(), ": dataset"));
  SIGMA_ASSIGN_OR_RETURN(const rapidjson::Value* splits, SubObject(f, "splits", true));
  JsonFields split_fields(*splits, StrCat(f.context(), ": splits"));
  for (auto it = splits->MemberBegin(); it != splits->MemberEnd(); ++it) {
    std::string split = it->name.GetString();
    std::string file;
    SIGMA_RETURN_IF_ERROR(split_fields.RequireString(split.c_str(), &file));
    c->splits[split] = ResolvePath(c->config_path, c->name, file, options);
  }
  SIGMA_RETURN_IF_ERROR(f.OptionalString("test_split", &c->test_split));
  c->fewshot_split = c->test_split;
  SIGMA_RETURN_IF_ERROR(f.OptionalString("fewshot_split", &c->fewshot_split));
  SIGMA_RETURN_IF_ERROR(f.OptionalString("doc_id_field", &c->doc_id_field));
  for (const std::string* split : {&c->test_split, &c->fewshot_split}) {
    if (c->splits.count(*split) == 0) {
      return InvalidArgumentError(f.context(), ": split '", *split, "' is not listed in splits");
    }
  }
  return f.RejectUnknownKeys();
}

Status ParsePrompt(JsonFields& top, TaskConfig* c) {
  SIGMA_ASSIGN_OR_RETURN(const rapidjson::Value* value, SubObject(top, "prompt", true));
  JsonFields f(*value, StrCat(top.context(), ": prompt"));
  SIGMA_RETURN_IF_ERROR(ParseTemplate(f, "preamble", false, &c->preamble));
  SIGMA_RETURN_IF_ERROR(ParseTemplate(f, "template", true, &c->prompt));
  std::string whole_pipes;
  SIGMA_RETURN_IF_ERROR(f.OptionalString("template_pipes", &whole_pipes));
  if (!whole_pipes.empty()) SIGMA_RETURN_IF_ERROR(c->prompt.SetWholePipes(whole_pipes));
  SIGMA_RETURN_IF_ERROR(ParseTemplate(f, "target", false, &c->target));
  SIGMA_RETURN_IF_ERROR(ParseTemplate(f, "gold", false, &c->gold));
  if (c->gold.empty()) c->gold = c->target;
  SIGMA_RETURN_IF_ERROR(ParseTemplateList(f, "choices", &c->choices));
  SIGMA_RETURN_IF_ERROR(ParseTemplateList(f, "choice_labels", &c->choice_labels));
  SIGMA_RETURN_IF_ERROR(ParseTemplate(f, "continuation", false, &c->continuation));
  SIGMA_RETURN_IF_ERROR(f.OptionalString("target_delimiter", &c->target_delimiter));
  SIGMA_RETURN_IF_ERROR(f.OptionalString("fewshot_delimiter", &c->fewshot_delimiter));
  SIGMA_RETURN_IF_ERROR(f.OptionalBool("chat_template", &c->chat_template));
  SIGMA_RETURN_IF_ERROR(f.OptionalBool("fewshot_as_multiturn", &c->fewshot_as_multiturn));
  SIGMA_RETURN_IF_ERROR(f.OptionalString("system", &c->system));
  return f.RejectUnknownKeys();
}

Status ParseFewshotAndGeneration(JsonFields& top, TaskConfig* c) {
  SIGMA_ASSIGN_OR_RETURN(const rapidjson::Value* fewshot, SubObject(top, "fewshot", false));
  if (fewshot != nullptr) {
    JsonFields f(*fewshot, StrCat(top.context(), ": fewshot"));
    SIGMA_RETURN_IF_ERROR(f.OptionalInt("num", &c->num_fewshot));
    int64_t seed = static_cast<int64_t>(c->fewshot_seed);
    SIGMA_RETURN_IF_ERROR(f.OptionalInt("seed", &seed));
    c->fewshot_seed = static_cast<uint64_t>(seed);
    SIGMA_RETURN_IF_ERROR(f.OptionalString("same_field", &c->fewshot_same_field));
    std::string sampler = "random";
    SIGMA_RETURN_IF_ERROR(f.OptionalString("sampler", &sampler));
    if (sampler == "random") {
      c->fewshot_sampler = FewshotSampler::kRandom;
    } else if (sampler == "first_n") {
      c->fewshot_sampler = FewshotSampler::kFirstN;
    } else if (sampler == "python_random") {
      c->fewshot_sampler = FewshotSampler::kPythonRandom;
      if (!c->fewshot_same_field.empty()) {
        return InvalidArgumentError(f.context(),
                                    ": sampler python_random draws from the whole "
                                    "pool (lm-eval's); same_field does not apply to it");
      }
    } else {
      return InvalidArgumentError(
          f.context(), ": sampler: expected random, first_n or python_random, got '", sampler, "'");
    }
    if (c->num_fewshot < 0 || c->num_fewshot > 64) {
      return InvalidArgumentError(f.context(), ": num: expected 0..64, got ", c->num_fewshot);
    }
    SIGMA_RETURN_IF_ERROR(f.RejectUnknownKeys());
  }
  SIGMA_ASSIGN_OR_RETURN(const rapidjson::Value* gen, SubObject(top, "generation", false));
  if (gen != nullptr) {
    JsonFields f(*gen, StrCat(top.context(), ": generation"));
    SIGMA_RETURN_IF_ERROR(f.OptionalStringArray("until", &c->until));
    for (size_t i = 0; i < c->until.size(); ++i) {
      if (c->until[i].empty()) {
        return InvalidArgumentError(f.context(), ": until[", i, "]: an empty stop string");
      }
    }
    SIGMA_RETURN_IF_ERROR(f.OptionalInt("max_tokens", &c->max_tokens));
    SIGMA_RETURN_IF_ERROR(f.OptionalInt("num_samples", &c->num_samples));
    if (c->max_tokens < 1) {
      return InvalidArgumentError(f.context(), ": max_tokens: expected a positive integer");
    }
    if (c->num_samples < 1 || c->num_samples > 1000) {
      return InvalidArgumentError(f.context(), ": num_samples: expected 1..1000");
    }
    SIGMA_RETURN_IF_ERROR(f.RejectUnknownKeys());
  }
  return Status::Ok();
}

Status ParseFilters(JsonFields& top, TaskConfig* c) {
  const rapidjson::Value* list = top.Find("filters");
  if (list != nullptr) {
    if (!list->IsArray()) return top.TypeError("filters", "an array", *list);
    std::set<std::string> names;
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      SIGMA_ASSIGN_OR_RETURN(FilterPipeline p, FilterPipeline::FromJson(
                                                   (*list)[i], StrCat(top.context(), ": filters[", i, "]")));
      if (!names.insert(p.name()).second) {
        return InvalidArgumentError(top.context(), ": filters[", i, "]: duplicate name '",
                                    p.name(), "'");
      }
      c->filters.push_back(std::move(p));
    }
  }
  if (c->filters.empty()) c->filters.emplace_back("none", std::vector<FilterStep>{});
  return Status::Ok();
}

StatusOr<MetricSpec> ParseMetric(const rapidjson::Value& value, const std::string& where,
                                 RequestType type) {
  if (!value.IsObject()) {
    return InvalidArgumentError(where, ": expected an object, got ", JsonTypeName(value));
  }
  JsonFields f(value, where);
  MetricSpec m;
  SIGMA_RETURN_IF_ERROR(f.RequireString("name", &m.name));
  if (AllowedMetrics().at(type).count(m.name) == 0) {
    return InvalidArgumentError(where, ": name: metric '", m.name, "' is not available for ",
                                RequestTypeName(type), " tasks");
  }
  if (m.name == "exact_match" || m.name == "pass@k") {
    SIGMA_RETURN_IF_ERROR(f.OptionalBool("ignore_case", &m.exact_match.ignore_case));
    SIGMA_RETURN_IF_ERROR(f.OptionalBool("ignore_punctuation", &m.exact_match.ignore_punctuation));
    SIGMA_RETURN_IF_ERROR(
        f.OptionalStringArray("regexes_to_ignore", &m.exact_match.regexes_to_ignore));
    SIGMA_RETURN_IF_ERROR(ExactMatcher::Create(m.exact_match, where).status());
  }
  if (m.name == "pass@k") {
    SIGMA_RETURN_IF_ERROR(f.OptionalIntArray("k", &m.k));
    if (m.k.empty()) return InvalidArgumentError(where, ": k: pass@k needs a list of k values");
  }
  SIGMA_RETURN_IF_ERROR(f.RejectUnknownKeys());
  return m;
}

Status ParseMetrics(JsonFields& top, TaskConfig* c) {
  const rapidjson::Value* list = top.Find("metrics");
  if (list == nullptr) return InvalidArgumentError(top.context(), ": missing required 'metrics'");
  if (!list->IsArray() || list->Empty()) {
    return top.TypeError("metrics", "a non-empty array", *list);
  }
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    SIGMA_ASSIGN_OR_RETURN(MetricSpec m, ParseMetric((*list)[i], StrCat(top.context(), ": metrics[", i, "]"),
                                                     c->request_type));
    for (int64_t k : m.k) {
      if (k < 1 || k > c->num_samples) {
        return InvalidArgumentError(top.context(), ": metrics[", i, "]: k=", k,
                                    " needs generation.num_samples >= k (it is ", c->num_samples,
                                    ")");
      }
    }
    c->metrics.push_back(std::move(m));
  }
  return Status::Ok();
}

Status CheckConsistency(const TaskConfig& c, const std::string& where) {
  const bool mc = c.request_type == RequestType::kMultipleChoice;
  if (c.fewshot_as_multiturn && !c.chat_template) {
    return InvalidArgumentError(where, ": prompt: fewshot_as_multiturn needs chat_template");
  }
  if (mc && !c.choices.present) {
    return InvalidArgumentError(where, ": prompt: multiple_choice needs 'choices'");
  }
  if (!mc && (c.choices.present || c.choice_labels.present)) {
    return InvalidArgumentError(where, ": prompt: 'choices' only apply to multiple_choice");
  }
  if (c.choice_labels.present && !c.choices.present) {
    return InvalidArgumentError(where, ": prompt: 'choice_labels' without 'choices'");
  }
  if (c.choice_labels.present && !c.choices.from_field && !c.choice_labels.from_field &&
      c.choice_labels.items.size() != c.choices.items.size()) {
    return InvalidArgumentError(where, ": prompt: ", c.choice_labels.items.size(),
                                " choice_labels for ", c.choices.items.size(), " choices");
  }
  if (!c.continuation.empty()) {
    if (!mc) {
      return InvalidArgumentError(where,
                                  ": prompt: 'continuation' only applies to multiple_choice");
    }
    for (const MetricSpec& m : c.metrics) {
      if (m.name == "acc_norm" || m.name == "acc_bytes") {
        return InvalidArgumentError(where, ": metrics: ", m.name,
                                    " divides by the length of the "
                                    "scored text, which a task with a 'continuation' scores the "
                                    "same for every choice; use acc");
      }
    }
  }
  const bool needs_gold = c.request_type != RequestType::kLoglikelihoodRolling;
  if (needs_gold && c.gold.empty()) {
    return InvalidArgumentError(where, ": prompt: needs 'target' or 'gold'");
  }
  if (c.num_fewshot > 0 && c.target.empty() && !mc) {
    return InvalidArgumentError(where, ": prompt: few-shot examples need 'target'");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<std::string>> TemplateList::Render(const rapidjson::Value& doc) const {
  if (from_field) return field.RenderList(doc);
  std::vector<std::string> out;
  for (const Template& t : items) {
    SIGMA_ASSIGN_OR_RETURN(std::string text, t.Render(doc));
    out.push_back(std::move(text));
  }
  return out;
}

StatusOr<TaskConfig> ParseTaskConfig(std::string_view text, const std::string& path,
                                     const TaskLoadOptions& options) {
  SIGMA_ASSIGN_OR_RETURN(auto doc, ParseJsonStrict(text, path));
  if (!doc->IsObject()) return InvalidArgumentError(path, ": expected a JSON object");
  JsonFields f(*doc, path);
  TaskConfig c;
  c.config_path = path;
  SIGMA_RETURN_IF_ERROR(f.RequireString("name", &c.name));
  const bool name_ok = !c.name.empty() && std::all_of(c.name.begin(), c.name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
           ch == '.';
  });
  if (!name_ok) return InvalidArgumentError(path, ": name: expected [a-z0-9_.-]+, got '", c.name, "'");
  SIGMA_RETURN_IF_ERROR(f.RequireInt("version", &c.version));
  SIGMA_RETURN_IF_ERROR(f.OptionalString("description", &c.description));
  SIGMA_RETURN_IF_ERROR(f.OptionalStringArray("groups", &c.groups));
  std::string type;
  SIGMA_RETURN_IF_ERROR(f.RequireString("request_type", &type));
  auto parsed_type = ParseRequestType(type);
  if (!parsed_type.ok()) return parsed_type.status().WithContext(StrCat(path, ": request_type"));
  c.request_type = *parsed_type;
  SIGMA_RETURN_IF_ERROR(ParseDataset(f, options, &c));
  SIGMA_RETURN_IF_ERROR(ParsePrompt(f, &c));
  SIGMA_RETURN_IF_ERROR(ParseFewshotAndGeneration(f, &c));
  SIGMA_RETURN_IF_ERROR(ParseFilters(f, &c));
  SIGMA_RETURN_IF_ERROR(ParseMetrics(f, &c));
  SIGMA_RETURN_IF_ERROR(f.RejectUnknownKeys());
  if (c.request_type != RequestType::kGenerateUntil &&
      (f.Has("filters") || f.Has("generation"))) {
    return InvalidArgumentError(path, ": 'filters' and 'generation' only apply to generate_until");
  }
  if (options.num_fewshot >= 0) {
    if (options.num_fewshot > 64) {
      return InvalidArgumentError("--num-fewshot: expected 0..64, got ", options.num_fewshot);
    }
    if (options.num_fewshot > 0 && c.request_type == RequestType::kLoglikelihoodRolling) {
      return InvalidArgumentError(path, ": --num-fewshot ", options.num_fewshot, ": task '", c.name,
                                  "' scores whole texts (loglikelihood_rolling), which "
                                  "take no few-shot examples");
    }
    c.num_fewshot = options.num_fewshot;
  }
  if (options.apply_chat_template) c.chat_template = true;
  if (options.fewshot_as_multiturn) c.fewshot_as_multiturn = true;
  if (!options.system_instruction.empty()) {
    c.system = c.system.empty() ? options.system_instruction
                                : StrCat(options.system_instruction, "\n\n", c.system);
  }
  SIGMA_RETURN_IF_ERROR(CheckConsistency(c, path));
  return c;
}

}  // namespace sigma::tasks
