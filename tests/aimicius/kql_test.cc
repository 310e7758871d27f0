// KQL lexer, parser and component analysis: valid and invalid corpora, error positions, hostile
// input, and hand-checked components and similarity tokens.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aimicius/kql/analysis.h"
#include "aimicius/kql/lexer.h"
#include "aimicius/kql/parser.h"

namespace sigma::aimicius::kql {
namespace {

using ::testing::HasSubstr;

TEST(KqlLexer, TokenKinds) {
  auto tokens = Lex("T | where a !contains @'x''y' and b in~ (\"p\") and t > ago(5m) // c\n");
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  std::vector<std::string> texts;
  for (const Token& t : *tokens) texts.push_back(t.text);
  const std::vector<std::string> want = {"T",   "|",      "where", "a",   "!contains", "@'x''y'",
                                         "and", "b",      "in~",   "(",   "\"p\"",     ")",
                                         "and", "t",      ">",     "ago", "(",         "5m",
                                         ")",   ""};
  EXPECT_EQ(texts, want);
  EXPECT_EQ((*tokens)[5].value, "x'y");
  EXPECT_EQ((*tokens)[5].kind, TokenKind::kString);
  EXPECT_EQ((*tokens)[17].kind, TokenKind::kTimespan);
}

TEST(KqlLexer, LiteralsAndPositions) {
  auto tokens = Lex("datetime(2024-01-02 03:04) 1.5e3 0x1F 'a\\'b' 1..5");
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  EXPECT_EQ((*tokens)[0].kind, TokenKind::kDatetime);
  EXPECT_EQ((*tokens)[0].value, "2024-01-02 03:04");
  EXPECT_EQ((*tokens)[1].text, "1.5e3");
  EXPECT_EQ((*tokens)[2].text, "0x1F");
  EXPECT_EQ((*tokens)[3].value, "a'b");
  EXPECT_EQ((*tokens)[4].text, "1");
  EXPECT_EQ((*tokens)[5].text, "..");
  EXPECT_EQ((*tokens)[6].text, "5");

  auto bad = Lex("T\n| where x == 'open");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("line 2, column 14"));
  EXPECT_THAT(bad.status().message(), HasSubstr("unterminated string"));
  EXPECT_FALSE(Lex("T | take 5x").ok());
  EXPECT_FALSE(Lex("T | where a == #").ok());
}

TEST(KqlLexer, LenientNeverFails) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  EXPECT_GT(LexLenient(binary).size(), 10u);
  EXPECT_EQ(LexLenient("").size(), 1u);  // kEnd only
  EXPECT_EQ(LexLenient("'unterminated").size(), 2u);
}

// Queries in the supported subset; each must parse.
const char* const kValid[] = {
    "SyslogData",
    "StormEvents | take 10",
    "StormEvents | limit 10;",
    "cluster('help').database('Samples').StormEvents | count",
    "cluster(\"https://help.kusto.windows.net\").database(\"Samples\").StormEvents\n"
    "| where StartTime > ago(1d) and State =~ 'texas'\n| project StartTime, EventType",
    "database('Logs').Heartbeat | summarize LastSeen = max(TimeGenerated) by Computer",
    "T | where Device startswith 'web' and Device endswith \"-01\" | distinct Device",
    "T | where not(Message contains 'debug') or Level in ('Error', 'Warning')",
    "T | where Level !in (\"Info\") and Msg !contains 'x' and Msg !has 'y' and A !startswith 'z'",
    "T | where Name matches regex @'^srv-[0-9]+$' | project-away Raw, Extra",
    "T | where Duration between (1s .. 5m) and Count !between (1 .. 10)",
    "T | extend Hour = bin(TimeGenerated, 1h), Day = startofday(TimeGenerated)\n"
    "| summarize Events = count(), Users = dcount(UserId) by Hour, Day",
    "T | summarize count() by bin(Timestamp, 5m) | render timechart",
    "T | top 5 by CpuPercent desc nulls last",
    "T | order by TimeGenerated desc, Computer asc | take 100",
    "T | sort by Count",
    "T | summarize arg_max(TimeGenerated, *) by Computer",
    "let start = ago(7d);\nlet hosts = dynamic(['a', 'b']);\n"
    "Perf | where TimeGenerated >= start and Computer in (hosts)",
    "let Recent = SigninLogs | where TimeGenerated > ago(1h);\nRecent | count",
    "A | join kind=inner (B | where x > 1) on Key",
    "A | join kind=leftouter B on $left.Id == $right.UserId | project Id, Name",
    "union Alerts, (Incidents | where Severity == 'High') | count",
    "T | extend Msg = strcat(tolower(Source), ': ', Text), Now = now(), Bag = todynamic(Json)",
    "T | where Timestamp between (datetime(2024-03-01) .. datetime(2024-03-02 12:00))",
    "T | extend p = Properties.level, q = Properties['code'] | where p == 'error'",
    "T | where Flag == true and Other != false and x <> 3 and y >= -2.5 and z % 2 == 0",
    "T | mv-expand Tags | project-rename Tag = Tags",
    "T | where Name has_any ('a', 'b') | sample 5",
    "T // trailing comment\n| where A == 1 // another\n| count",
    "T | where A == 1 | as Filtered | getschema",
    "T | summarize by Computer",
    "T | where Path == h'secret' and Sum == sum_value * 1.0 / 3",
    "T | where isnotempty(Computer) and tostring(Id) == '5' | project-keep Id",
    "T | extend o = dynamic({\"a\": 1, \"b\": [1, 2]})",
};

TEST(KqlParser, ValidCorpus) {
  for (const char* q : kValid) {
    auto parsed = Parse(q);
    EXPECT_TRUE(parsed.ok()) << q << "\n" << parsed.status().ToString();
  }
}

struct Invalid {
  const char* query;
  const char* message;  // a substring of the error
};

const Invalid kInvalid[] = {
    {"", "expected a query"},
    {"// only a comment", "expected a query"},
    {"| where x == 1", "line 1, column 1: expected an expression, found '|'"},
    {"T | where", "expected an expression, found the end of the query"},
    {"T | where x ==", "expected an expression"},
    {"T | frobnicate", "unknown or unsupported tabular operator 'frobnicate'"},
    {"T | project", "expected an expression"},
    {"T | where (a == 1", "expected ')'"},
    {"T | where a == 1)", "expected '|', ';' or the end of the query, found ')'"},
    {"T | take", "expected an expression"},
    {"T | top 5 desc", "expected 'by'"},
    {"T | order TimeGenerated", "expected 'by'"},
    {"let x = 1", "expected ';' after the let statement"},
    {"let x = 1;", "only let statements"},
    {"T | where a in ()", "at least one value"},
    {"T | where a between (1, 2)", "expected '..'"},
    {"T | where a matches 'x'", "expected 'regex'"},
    {"T | join kind=inner B", "expected 'on'"},
    {"T | summarize", "expected an aggregation or 'by'"},
    {"T | where f(a,)", "expected an argument after ','"},
    {"T |", "a tabular operator after '|'"},
    {"T | where a == 'x", "unterminated string"},
    {"SELECT * FROM T", "expected '|', ';' or the end of the query"},
    {"T | where x = 1", "expected '|', ';' or the end of the query, found '='"},
    {"T | render", "a chart type"},
};

TEST(KqlParser, InvalidCorpus) {
  for (const Invalid& c : kInvalid) {
    auto parsed = Parse(c.query);
    ASSERT_FALSE(parsed.ok()) << c.query;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.message)) << c.query;
  }
}

TEST(KqlParser, ErrorPositionOnLaterLine) {
  auto parsed = Parse("T\n| where a == 1\n| project , b");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("line 3, column 11: expected an expression"));
}

TEST(KqlParser, HostileNestingIsRejectedNotCrashed) {
  EXPECT_FALSE(Parse("T | where " + std::string(100000, '(') + "1").ok());
  std::string chain = "T | where a";
  for (int i = 0; i < 50000; ++i) chain += " + a";
  auto parsed = Parse(chain);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("nested deeper"));
  std::string members = "T | where a";
  for (int i = 0; i < 50000; ++i) members += ".b";
  EXPECT_FALSE(Parse(members).ok());
  std::string negs = "T | where " + std::string(100000, '-') + "1";
  EXPECT_FALSE(Parse(negs).ok());
  // Long but flat input is fine.
  std::string flat = "T | where a in (";
  for (int i = 0; i < 20000; ++i) flat += std::to_string(i) + ",";
  flat += "0)";
  EXPECT_TRUE(Parse(flat).ok());
}

TEST(KqlAnalysis, ComponentsOfAQualifiedQuery) {
  auto q = Parse(
      "let since = ago(1d);\n"
      "cluster('https://Help.kusto.windows.net/').database('Samples').SyslogData\n"
      "| where TimeGenerated > since and Device startswith 'web'\n"
      "| extend Host = tolower(Device), Lvl = Properties.level\n"
      "| join kind=inner (database('Inv').Hosts | project HostName) on $left.Host == "
      "$right.HostName\n"
      "| summarize Count = count() by Host");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  Components c = ExtractComponents(*q);
  EXPECT_EQ(c.clusters, (std::set<std::string>{"help"}));
  EXPECT_EQ(c.databases, (std::set<std::string>{"Samples", "Inv"}));
  EXPECT_EQ(c.tables, (std::set<std::string>{"SyslogData", "Hosts"}));
  // 'since' is let-bound; ago/tolower/count are functions; 'level' is a dynamic path.
  EXPECT_EQ(c.columns, (std::set<std::string>{"TimeGenerated", "Device", "Host", "Lvl",
                                              "Properties", "HostName", "Count"}));
}

TEST(KqlAnalysis, BareTablesAndLetTables) {
  auto q = Parse("let R = Perf | where CounterValue > 90;\nR | union Heartbeat | count");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  Components c = ExtractComponents(*q);
  EXPECT_TRUE(c.clusters.empty());
  EXPECT_EQ(c.tables, (std::set<std::string>{"Perf", "Heartbeat"}));
  EXPECT_EQ(c.columns, (std::set<std::string>{"CounterValue"}));
}

TEST(KqlAnalysis, NormalizeCluster) {
  EXPECT_EQ(NormalizeCluster("HTTPS://MyCluster.kusto.windows.net/"), "mycluster");
  EXPECT_EQ(NormalizeCluster("mycluster.westus"), "mycluster.westus");
  EXPECT_EQ(NormalizeCluster(" help "), "help");
}

TEST(KqlAnalysis, SimilarityTokensAndJaccard) {
  // {T, |, where, A, ==, "x"} vs {T, |, where, A, ==, "y"}: 5 common of 7.
  auto a = SimilarityTokens("T | where A == 'x'");
  auto b = SimilarityTokens("T | where A == \"y\" // note");
  EXPECT_EQ(a.size(), 6u);
  EXPECT_EQ(b.size(), 6u);
  EXPECT_DOUBLE_EQ(Jaccard(a, b), 5.0 / 7.0);
  // Quote style does not matter; repeated tokens count once.
  EXPECT_DOUBLE_EQ(Jaccard(SimilarityTokens("T|where A=='x'"),
                           SimilarityTokens("T | where A == @\"x\" | where A == 'x'")),
                   1.0);
  EXPECT_DOUBLE_EQ(Jaccard({}, {}), 1.0);
  EXPECT_DOUBLE_EQ(Jaccard({"a"}, {}), 0.0);
}

TEST(KqlAnalysis, Recall) {
  EXPECT_DOUBLE_EQ(Recall({"a", "b"}, {"a", "c"}), 0.5);
  EXPECT_DOUBLE_EQ(Recall({}, {}), 1.0);
  EXPECT_DOUBLE_EQ(Recall({}, {"x"}), 0.0);
}

}  // namespace
}  // namespace sigma::aimicius::kql
