// The convtrace program end to end: output, exit statuses, error messages.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

const std::string kFixtures = std::string(CONVTRACE_TEST_FIXTURES) + "/provider-responses/";

struct Result {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs `convtrace <args>` through the shell; args are quoted by the caller.
Result convtrace(const std::string& args, const std::string& stdin_file = "") {
  // Per process: ctest runs test cases of this program in parallel.
  const std::string err_path =
      ::testing::TempDir() + "convtrace_cli_stderr_" + std::to_string(getpid()) + ".txt";
  std::string command = std::string("env -u CONVTRACE_PRICING_FILE '") + CONVTRACE_CLI + "' " +
                        args + " 2>'" + err_path + "'";
  if (!stdin_file.empty()) command += " <'" + stdin_file + "'";
  Result run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  const int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = slurp(err_path);
  std::remove(err_path.c_str());
  return run;
}

std::string fixture(const std::string& name) { return "'" + kFixtures + name + "'"; }

TEST(CliUsage, JsonForOneBody) {
  // o1: 15 / 60 USD per 1M, cached 7.5. 158 uncached + 1408 cached in, 1518 out:
  // 158*15e6 + 1408*7.5e6 + 1518*60e6 = 104,010,000,000 pico-USD.
  const Result r =
      convtrace("usage --json " + fixture("openai_chat_completion_cached_reasoning.json"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"provider\":\"openai\",\"model\":\"o1-2024-12-17\",\"priced_as\":\"o1\","
            "\"input_tokens\":1566,\"output_tokens\":1518,\"cache_read_input_tokens\":1408,"
            "\"cache_write_input_tokens\":null,\"reasoning_output_tokens\":576,"
            "\"cost_pico_usd\":104010000000,\"cost_usd\":0.10401}\n");
}

TEST(CliUsage, DetectsSseAndJsonLines) {
  // claude-sonnet-4-5: 25*3e6 + 15*15e6 = 300,000,000 pico-USD.
  Result r = convtrace("usage --json " + fixture("anthropic_stream_basic.sse"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"priced_as\":\"claude-sonnet-4-5\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"cost_pico_usd\":300000000,\"cost_usd\":0.0003}"), std::string::npos);
  // mistral-small-latest: 13*60,000 + 8*180,000 = 2,220,000 pico-USD.
  r = convtrace("usage --json " + fixture("mistral_chat_stream.jsonl"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"cost_pico_usd\":2220000,\"cost_usd\":0.00000222}"), std::string::npos)
      << r.out;
}

TEST(CliUsage, ReadsStandardInputAndModelOverride) {
  // Bedrock Converse names no model; claude-haiku-4-5 on Bedrock: 22*1e6 + 57*5e6.
  const Result r = convtrace("usage --json --model anthropic.claude-haiku-4-5-20251001-v1:0 -",
                             kFixtures + "bedrock_converse.json");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"provider\":\"aws.bedrock\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"cost_pico_usd\":307000000,"), std::string::npos) << r.out;
}

TEST(CliUsage, UnknownModelHasNullCostAndWarns) {
  const Result r = convtrace("usage --json " + fixture("ollama_chat.json"));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("\"priced_as\":null"), std::string::npos);
  EXPECT_NE(r.out.find("\"cost_pico_usd\":null,\"cost_usd\":null}"), std::string::npos);
  EXPECT_NE(r.err.find("no price for model \"llama3.2\""), std::string::npos) << r.err;
}

TEST(CliUsage, HumanTable) {
  const Result r = convtrace("usage " + fixture("anthropic_messages.json"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("input tokens      6197\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  cache write     2051\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  reasoning       -\n"), std::string::npos) << r.out;
}

TEST(CliUsage, MalformedInputExitsTwoWithPosition) {
  const std::string path = ::testing::TempDir() + "convtrace_cli_truncated.json";
  std::ofstream(path) << R"({"usage": {"prompt_tokens": 12, "completion_tok)";
  const Result r = convtrace("usage '" + path + "'");
  std::remove(path.c_str());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("malformed JSON at byte"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
}

TEST(CliUsage, NoUsageMissingFileAndBadOptionExitTwo) {
  EXPECT_EQ(convtrace("usage " + fixture("ollama_chat_load_no_usage.json")).status, 2);
  const Result missing = convtrace("usage /nonexistent/response.json");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("cannot open /nonexistent/response.json"), std::string::npos);
  EXPECT_EQ(convtrace("usage --no-such-option x").status, 2);
  EXPECT_EQ(convtrace("").status, 2);
}

TEST(CliPrice, KnownModel) {
  const Result r = convtrace("price --json gpt-4o-2024-08-06");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"model\":\"gpt-4o\",\"provider\":\"openai\",\"input\":2.5,\"output\":10,"
                       "\"cached_input\":1.25,"),
            std::string::npos)
      << r.out;
  const Result human = convtrace("price gemini-2.5-pro");
  EXPECT_EQ(human.status, 0);
  EXPECT_NE(human.out.find("above 200000 input tokens"), std::string::npos) << human.out;
}

TEST(CliPrice, UnknownModelExitsOneWithSuggestions) {
  const Result r = convtrace("price gpt-4o-mni");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("unknown model \"gpt-4o-mni\"; closest known: gpt-4o-mini"),
            std::string::npos)
      << r.err;
}

TEST(CliPrice, PricingFileOption) {
  const std::string path = ::testing::TempDir() + "convtrace_cli_prices.json";
  std::ofstream(path) << R"({"models": [{"model": "in-house-7b", "input": 0.01, "output": 0.02}]})";
  EXPECT_EQ(convtrace("price --pricing '" + path + "' in-house-7b").status, 0);
  std::ofstream(path) << R"({"models": [{"model": "in-house-7b", "input": "cheap"}]})";
  const Result bad = convtrace("price --pricing '" + path + "' gpt-4o");
  std::remove(path.c_str());
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("field \"input\": expected a number"), std::string::npos) << bad.err;
}

TEST(CliHelp, ManStyleSections) {
  for (const char* command : {"usage", "price"}) {
    const Result r = convtrace(std::string(command) + " --help");
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("EXAMPLES"), std::string::npos) << command;
    EXPECT_NE(r.out.find("EXIT STATUS"), std::string::npos) << command;
  }
}

}  // namespace

namespace {

TEST(CliMain, VersionPrintsTheReleaseNumber) {
  auto r = convtrace("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("convtrace ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find('.'), std::string::npos) << r.out;
}

TEST(CliMain, UnknownCommandSaysSoAndExitsTwo) {
  auto r = convtrace("reprot --by user");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown command 'reprot'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" report"), std::string::npos) << r.err;  // the list of commands
}

}  // namespace
