#include "harness/backends/replay_backend.h"

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/base/sha256.h"

namespace sigma::harness {
namespace {

// doc_id may be written as a string or an integer.
Status ReadDocId(JsonFields& fields, std::string* out) {
  const rapidjson::Value* v = fields.Find("doc_id");
  if (v == nullptr) return InvalidArgumentError(fields.context(), ": missing required field 'doc_id'");
  if (v->IsString()) {
    out->assign(v->GetString(), v->GetStringLength());
  } else if (v->IsInt64()) {
    *out = std::to_string(v->GetInt64());
  } else {
    return fields.TypeError("doc_id", "a string or an integer", *v);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<ReplayBackend>> ReplayBackend::Open(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::unique_ptr<ReplayBackend> backend(new ReplayBackend());
  backend->path_ = path;
  backend->sha256_ = Sha256Hex(text);
  size_t start = 0;
  for (int64_t line_no = 1; start < text.size(); ++line_no) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = StrCat(path, ":", line_no);
    SIGMA_ASSIGN_OR_RETURN(auto doc, ParseJson(line, where));
    if (!doc->IsObject()) return InvalidArgumentError(where, ": expected a JSON object");
    JsonFields fields(*doc, where);
    std::string task, doc_id, output;
    std::vector<std::string> outputs;
    SIGMA_RETURN_IF_ERROR(fields.RequireString("task", &task));
    SIGMA_RETURN_IF_ERROR(ReadDocId(fields, &doc_id));
    if (fields.Has("outputs")) {
      SIGMA_RETURN_IF_ERROR(fields.OptionalStringArray("outputs", &outputs));
    } else {
      SIGMA_RETURN_IF_ERROR(fields.RequireString("output", &output));
      outputs.push_back(output);
    }
    fields.Ignore({"output", "outputs", "model", "meta"});
    SIGMA_RETURN_IF_ERROR(fields.RejectUnknownKeys());
    auto [it, inserted] = backend->outputs_.emplace(std::make_pair(task, doc_id), outputs);
    if (!inserted) return InvalidArgumentError(where, ": duplicate record for task '", task, "' doc '", doc_id, "'");
  }
  return backend;
}

std::string ReplayBackend::FingerprintJson() const {
  std::string path;
  AppendJsonString(path_, &path);
  return StrCat("{\"backend\":\"replay\",\"file\":", path, ",\"sha256\":\"", sha256_, "\"}");
}

Status ReplayBackend::Run(std::span<BackendItem> items) {
  for (BackendItem& item : items) {
    if (item.request->type != tasks::RequestType::kGenerateUntil) {
      item.response.error = "replay: recorded outputs have no log-likelihoods (task '" + item.task +
                            "' asks for " + std::string(tasks::RequestTypeName(item.request->type)) + ")";
      continue;
    }
    auto it = outputs_.find({item.task, item.doc_id});
    if (it == outputs_.end()) {
      item.response.error = "replay: no recorded output for task '" + item.task + "' doc '" + item.doc_id + "'";
      continue;
    }
    const auto index = static_cast<size_t>(item.index_in_doc);
    if (index >= it->second.size()) {
      item.response.error = StrCat("replay: task '", item.task, "' doc '", item.doc_id, "' has ",
                                   it->second.size(), " recorded outputs, output ", index + 1,
                                   " asked (several requests, turns or samples per document need "
                                   "\"outputs\": [...])");
      continue;
    }
    item.response.text = it->second[index];
  }
  return Status::Ok();
}

}  // namespace sigma::harness
