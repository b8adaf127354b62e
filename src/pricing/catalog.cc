// The Pricing catalog: look-up, edits, and the validated JSON loader.
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "convtrace/pricing.h"
#include "pricing/builtin_data.h"
#include "pricing/normalize.h"

namespace convtrace {
namespace {

namespace od = simdjson::ondemand;

// ---- JSON loader ---------------------------------------------------------------------------

struct Draft {
  ModelPrice price;
  std::vector<std::string> aliases;
};

struct TierDraft {
  std::optional<int64_t> above;
  std::optional<int64_t> input, output;
  PriceBand rest;  // optional fields only
};

// Reads the catalog in one pass. JSON syntax errors stop at once (with the
// byte offset); schema errors are remembered per entry and reported with the
// entry's model name, which may come after the bad field.
class CatalogReader {
 public:
  CatalogReader(const char* base, size_t size) : base_(base), size_(size) {}

  Error read(od::document& doc, std::vector<Draft>& out) {
    doc_ = &doc;
    od::object root;
    if (auto e = doc.get_object().get(root)) {
      if (e == simdjson::INCORRECT_TYPE) return schema("the document must be a JSON object");
      return syntax(e);
    }
    bool saw_models = false;
    for (auto member : root) {
      od::field field;
      if (auto e = std::move(member).get(field)) return syntax(e);
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return syntax(e);
      if (key == "models") {
        saw_models = true;
        if (Error err = read_models(field.value(), out)) return err;
      } else if (key == "version") {
        int64_t version = 0;
        if (field.value().get_int64().get(version) || version != 1) {
          return schema("field \"version\": only version 1 is supported");
        }
      } else if (key.empty() || key.front() != '_') {
        return schema("unknown top-level field \"" + std::string(key) + "\"");
      }
    }
    if (!saw_models) return schema("missing the \"models\" array");
    const char* at = nullptr;
    if (doc.current_location().get(at) == simdjson::SUCCESS) {
      return Error{Error::parse_error, "pricing: malformed JSON at byte " +
                                           std::to_string(at - base_) +
                                           ": trailing content after the object"};
    }
    return {};
  }

  Error syntax(simdjson::error_code code) {
    size_t offset = size_;
    const char* at = nullptr;
    if (doc_ != nullptr && doc_->current_location().get(at) == simdjson::SUCCESS && at >= base_ &&
        at <= base_ + size_) {
      offset = static_cast<size_t>(at - base_);
    }
    return Error{Error::parse_error, "pricing: malformed JSON at byte " + std::to_string(offset) +
                                         ": " + simdjson::error_message(code)};
  }

  static Error schema(const std::string& message) {
    return Error{Error::invalid_argument, "pricing: " + message};
  }

 private:
  Error read_models(od::value value, std::vector<Draft>& out) {
    od::array models;
    if (auto e = value.get_array().get(models)) {
      if (e == simdjson::INCORRECT_TYPE) return schema("field \"models\" must be an array");
      return syntax(e);
    }
    size_t index = 0;
    for (auto element : models) {
      od::value entry;
      if (auto e = std::move(element).get(entry)) return syntax(e);
      Draft draft;
      std::string problem;
      if (Error err = read_entry(entry, draft, problem)) return err;
      const std::string name = draft.price.model.empty() ? "models[" + std::to_string(index) + "]"
                                                         : "models[" + std::to_string(index) +
                                                               "] (\"" + draft.price.model + "\")";
      if (problem.empty() && draft.price.model.empty()) problem = "missing field \"model\"";
      if (!problem.empty()) return schema(name + ": " + problem);
      for (size_t j = 0; j < out.size(); ++j) {
        if (out[j].price.model == draft.price.model) {
          return schema(name + ": duplicate model, also models[" + std::to_string(j) + "]");
        }
      }
      out.push_back(std::move(draft));
      ++index;
    }
    return {};
  }

  // Reads a USD-per-1M figure into micro-USD. `required` rejects null.
  Error read_price(od::value value, const std::string& field, bool required,
                   std::optional<int64_t>& out, std::string& problem) {
    od::json_type type;
    if (auto e = value.type().get(type)) return syntax(e);
    if (type == od::json_type::null && !required) {
      out.reset();
      return {};
    }
    if (type != od::json_type::number) {
      note(problem, "field \"" + field + "\": expected a number (USD per 1M tokens)");
      return {};
    }
    double usd = 0;
    if (auto e = value.get_double().get(usd)) return syntax(e);
    auto micro = usd_to_micro(usd);
    if (!micro) {
      note(problem, "field \"" + field + "\": " + micro.error().message);
      return {};
    }
    out = *micro;
    return {};
  }

  Error read_string(od::value value, const std::string& field, std::string& out,
                    std::string& problem) {
    std::string_view text;
    auto e = value.get_string().get(text);
    if (e == simdjson::INCORRECT_TYPE) {
      note(problem, "field \"" + field + "\": expected a string");
      return {};
    }
    if (e) return syntax(e);
    out.assign(text);
    return {};
  }

  static void note(std::string& problem, const std::string& message) {
    if (problem.empty()) problem = message;  // the first problem is the one to fix
  }

  // Price fields shared by an entry and a tier; false when `key` is not one.
  Error read_band_field(std::string_view key, od::value value, const std::string& prefix,
                        PriceBand& band, bool& matched, std::string& problem) {
    matched = true;
    std::optional<int64_t>* slot = nullptr;
    if (key == "cached_input") slot = &band.cached_input;
    if (key == "cache_write") slot = &band.cache_write;
    if (key == "cache_write_1h") slot = &band.cache_write_1h;
    if (key == "reasoning") slot = &band.reasoning;
    if (slot == nullptr) {
      matched = false;
      return {};
    }
    return read_price(value, prefix + std::string(key), false, *slot, problem);
  }

  Error read_entry(od::value value, Draft& draft, std::string& problem) {
    od::object obj;
    if (auto e = value.get_object().get(obj)) {
      if (e != simdjson::INCORRECT_TYPE) return syntax(e);
      problem = "expected an object";
      return {};
    }
    std::optional<int64_t> input, output;
    bool saw_input = false, saw_output = false;
    std::vector<TierDraft> tiers;
    for (auto member : obj) {
      od::field field;
      if (auto e = std::move(member).get(field)) return syntax(e);
      std::string_view key_view;
      if (auto e = field.unescaped_key().get(key_view)) return syntax(e);
      const std::string key(key_view);
      od::value v = field.value();
      bool matched = false;
      Error err;
      if (key == "model") {
        err = read_string(v, key, draft.price.model, problem);
        if (!err && draft.price.model.empty()) {
          note(problem, "field \"model\": must not be empty");
        }
      } else if (key == "provider") {
        err = read_string(v, key, draft.price.provider, problem);
      } else if (key == "source") {
        err = read_string(v, key, draft.price.source, problem);
      } else if (key == "checked") {
        err = read_string(v, key, draft.price.checked, problem);
        if (!err && !is_date(draft.price.checked)) {
          note(problem, "field \"checked\": expected a date YYYY-MM-DD");
        }
      } else if (key == "input") {
        saw_input = true;
        err = read_price(v, key, true, input, problem);
      } else if (key == "output") {
        saw_output = true;
        err = read_price(v, key, true, output, problem);
      } else if (key == "tiers") {
        err = read_tiers(v, tiers, problem);
      } else if (key == "aliases") {
        err = read_aliases(v, draft.aliases, problem);
      } else {
        err = read_band_field(key, v, "", draft.price.base, matched, problem);
        if (!err && !matched) note(problem, "unknown field \"" + key + "\"");
      }
      if (err) return err;
    }
    if (!saw_input) note(problem, "missing field \"input\"");
    if (!saw_output) note(problem, "missing field \"output\"");
    if (!problem.empty()) return {};
    draft.price.base.input = input.value_or(0);
    draft.price.base.output = output.value_or(0);
    for (size_t i = 0; i < tiers.size(); ++i) {
      const std::string name = "tiers[" + std::to_string(i) + "]";
      if (!tiers[i].above) {
        note(problem, name + ": missing field \"above_input_tokens\"");
        return {};
      }
      if (i > 0 && *tiers[i].above <= *tiers[i - 1].above) {
        note(problem, name + ": thresholds must ascend");
        return {};
      }
      PriceTier tier;
      tier.above_input_tokens = *tiers[i].above;
      tier.prices = tiers[i].rest;
      tier.prices.input = tiers[i].input.value_or(draft.price.base.input);
      tier.prices.output = tiers[i].output.value_or(draft.price.base.output);
      draft.price.tiers.push_back(std::move(tier));
    }
    return {};
  }

  Error read_tiers(od::value value, std::vector<TierDraft>& tiers, std::string& problem) {
    od::array arr;
    if (auto e = value.get_array().get(arr)) {
      if (e != simdjson::INCORRECT_TYPE) return syntax(e);
      note(problem, "field \"tiers\": expected an array");
      return {};
    }
    for (auto element : arr) {
      od::value tier_value;
      if (auto e = std::move(element).get(tier_value)) return syntax(e);
      const std::string prefix = "tiers[" + std::to_string(tiers.size()) + "].";
      TierDraft tier;
      od::object obj;
      if (auto e = tier_value.get_object().get(obj)) {
        if (e != simdjson::INCORRECT_TYPE) return syntax(e);
        note(problem, "field \"" + prefix.substr(0, prefix.size() - 1) + "\": expected an object");
        tiers.push_back(tier);
        continue;
      }
      for (auto member : obj) {
        od::field field;
        if (auto e = std::move(member).get(field)) return syntax(e);
        std::string_view key_view;
        if (auto e = field.unescaped_key().get(key_view)) return syntax(e);
        const std::string key(key_view);
        od::value v = field.value();
        Error err;
        bool matched = false;
        if (key == "above_input_tokens") {
          int64_t above = 0;
          auto e = v.get_int64().get(above);
          if (e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_OUT_OF_RANGE ||
              (!e && above <= 0)) {
            note(problem, "field \"" + prefix + key + "\": expected a positive integer");
          } else if (e) {
            return syntax(e);
          } else {
            tier.above = above;
          }
        } else if (key == "input") {
          err = read_price(v, prefix + key, true, tier.input, problem);
        } else if (key == "output") {
          err = read_price(v, prefix + key, true, tier.output, problem);
        } else {
          err = read_band_field(key, v, prefix, tier.rest, matched, problem);
          if (!err && !matched) note(problem, "unknown field \"" + prefix + key + "\"");
        }
        if (err) return err;
      }
      tiers.push_back(tier);
    }
    return {};
  }

  Error read_aliases(od::value value, std::vector<std::string>& aliases, std::string& problem) {
    od::array arr;
    if (auto e = value.get_array().get(arr)) {
      if (e != simdjson::INCORRECT_TYPE) return syntax(e);
      note(problem, "field \"aliases\": expected an array of strings");
      return {};
    }
    for (auto element : arr) {
      od::value item;
      if (auto e = std::move(element).get(item)) return syntax(e);
      std::string alias;
      if (Error err = read_string(item, "aliases", alias, problem)) return err;
      if (!alias.empty()) aliases.push_back(std::move(alias));
    }
    return {};
  }

  static bool is_date(const std::string& s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    const int month = (s[5] - '0') * 10 + (s[6] - '0');
    const int day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
  }

  const char* base_;
  size_t size_;
  od::document* doc_ = nullptr;
};

Error parse_catalog(std::string_view json, std::vector<Draft>& out) {
  simdjson::padded_string padded(json);
  od::parser parser;
  CatalogReader reader(padded.data(), json.size());
  od::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return reader.syntax(e);
  return reader.read(doc, out);
}

// Bounded edit distance for "did you mean": ids are short, and capping the
// length keeps a hostile query from costing more than a few microseconds.
size_t edit_distance(std::string_view a, std::string_view b) {
  a = a.substr(0, 64);
  b = b.substr(0, 64);
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

// ---- Pricing ---------------------------------------------------------------------------------

const Pricing& Pricing::builtin() {
  static const Pricing catalog = [] {
    Pricing p;
    // The data file is checked by the test suite; should it ever fail here the
    // catalog stays empty and every model is reported as unknown, never 0.
    (void)p.load_json(pricing_internal::builtin_pricing_json());
    return p;
  }();
  return catalog;
}

void Pricing::set(std::string_view model, ModelPrice price) {
  std::string key(model);
  price.model = key;
  const std::string normalized = normalize_model(key);
  // The entry whose key is already in normal form owns its normalized name;
  // others ("us.anthropic.…" regional ids) only fill a free slot.
  auto slot = by_normalized_.find(normalized);
  if (slot == by_normalized_.end() || normalized == key) {
    by_normalized_[normalized] = key;
  }
  by_key_[key] = std::move(price);
}

void Pricing::set(std::string_view model, double input_usd_per_1m, double output_usd_per_1m,
                  std::optional<double> cached_input_usd_per_1m,
                  std::optional<double> cache_write_usd_per_1m) {
  set(model, ModelPrice::usd_per_million(input_usd_per_1m, output_usd_per_1m,
                                         cached_input_usd_per_1m, cache_write_usd_per_1m));
}

void Pricing::alias(std::string_view name, std::string_view model) {
  aliases_[std::string(name)] = std::string(model);
}

Error Pricing::load_json(std::string_view json, bool replace) {
  try {
    std::vector<Draft> drafts;
    if (Error err = parse_catalog(json, drafts)) return err;
    Pricing next = replace ? Pricing() : *this;
    for (Draft& draft : drafts) {
      const std::string key = draft.price.model;
      for (const std::string& alias_name : draft.aliases) next.alias(alias_name, key);
      next.set(key, std::move(draft.price));
    }
    *this = std::move(next);  // all or nothing
    return {};
  } catch (const std::exception& e) {
    return Error{Error::internal, std::string("pricing: ") + e.what()};
  }
}

Error Pricing::load_file(const std::string& path, bool replace) {
  std::string text;
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{Error::io_error, "pricing: cannot open " + path};
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return Error{Error::io_error, "pricing: cannot read " + path};
    text = buffer.str();
  } catch (const std::exception& e) {
    return Error{Error::io_error, "pricing: cannot read " + path + ": " + e.what()};
  }
  Error err = load_json(text, replace);
  if (err) err.message = path + ": " + err.message;
  return err;
}

Pricing Pricing::with_file(const std::string& path, Error* warning) {
  Pricing pricing = builtin();
  Error err;
  if (!path.empty()) err = pricing.load_file(path);
  if (warning != nullptr) *warning = err;
  return pricing;
}

const ModelPrice* Pricing::find_key(std::string_view model) const {
  if (auto it = by_key_.find(model); it != by_key_.end()) return &it->second;
  const std::string stripped = pricing_internal::strip_prefixes(model);
  if (auto it = by_key_.find(stripped); it != by_key_.end()) return &it->second;
  if (auto it = by_normalized_.find(normalize_model(stripped)); it != by_normalized_.end()) {
    if (auto entry = by_key_.find(it->second); entry != by_key_.end()) return &entry->second;
  }
  return nullptr;
}

const ModelPrice* Pricing::find(std::string_view model) const {
  try {
    auto alias_it = aliases_.find(model);
    if (alias_it == aliases_.end()) alias_it = aliases_.find(normalize_model(model));
    if (alias_it != aliases_.end()) {
      if (const ModelPrice* p = find_key(alias_it->second)) return p;
    }
    return find_key(model);
  } catch (...) {
    return nullptr;  // allocation failure while normalizing: report unknown
  }
}

std::vector<std::string> Pricing::closest(std::string_view model, size_t n) const {
  std::vector<std::pair<size_t, std::string>> ranked;
  try {
    const std::string query = normalize_model(model);
    for (const auto& [key, price] : by_key_) {
      const size_t d =
          std::min(edit_distance(query, key), edit_distance(query, normalize_model(key)));
      ranked.emplace_back(d, key);
    }
    std::sort(ranked.begin(), ranked.end());
    std::vector<std::string> names;
    for (size_t i = 0; i < ranked.size() && names.size() < n; ++i) {
      names.push_back(ranked[i].second);
    }
    return names;
  } catch (...) {
    return {};
  }
}

std::vector<std::string> Pricing::models() const {
  std::vector<std::string> keys;
  keys.reserve(by_key_.size());
  for (const auto& [key, price] : by_key_) keys.push_back(key);
  return keys;
}

}  // namespace convtrace
