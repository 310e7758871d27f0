// The chat-template interpreter (engine/tokenizer/jinja), feature by feature, each expectation
// what jinja2 3.1 renders under transformers' settings (trim_blocks, lstrip_blocks, its tojson):
// whitespace control, scoping, loops, macros, namespaces, filters, tests, methods, Python's
// operators and reprs (every expectation checked with jinja2 3.1.6); and hostile templates,
// refused with the line named rather than run.
#include "engine/tokenizer/jinja/jinja.h"

#include <gtest/gtest.h>

#include <string>

namespace sigma::jinja {
namespace {

// Renders `source` with messages [{role: user, content: "hi"}, {role: assistant, content:
// "yo"}] and x = 3; the error's text where it fails.
std::string Render(const std::string& source) {
  StatusOr<Template> t = Template::Parse(source);
  if (!t.ok()) return "PARSE ERROR: " + t.status().ToString();
  List messages;
  for (const auto& [role, content] : {std::pair{"user", "hi"}, std::pair{"assistant", "yo"}}) {
    Dict m;
    m.Set("role", Value::String(role));
    m.Set("content", Value::String(content));
    messages.push_back(Value::DictOf(std::move(m)));
  }
  Dict variables;
  variables.Set("messages", Value::ListOf(std::move(messages)));
  variables.Set("x", Value::Int(3));
  StatusOr<std::string> out = t->Render(variables);
  return out.ok() ? *out : "ERROR: " + out.status().ToString();
}

TEST(JinjaTest, WhitespaceRulesOfTransformers) {
  // trim_blocks: the newline after a block tag goes; lstrip_blocks: blanks before it on its line.
  EXPECT_EQ(Render("{% if true %}\n  a\n  {% endif %}\nb"), "  a\nb");
  EXPECT_EQ(Render("x  {{- ' y ' -}}  z"), "x y z");
  EXPECT_EQ(Render("a\n  {%- if true %}b{% endif %}"), "ab");
  EXPECT_EQ(Render("a {%+ if true %}b{% endif %}"), "a b");
  EXPECT_EQ(Render("{{ 'a' }}\nb"), "a\nb");  // not after an output tag
  EXPECT_EQ(Render("  {# note #}\nb"), "b");
}

TEST(JinjaTest, LoopsScopesAndNamespaces) {
  EXPECT_EQ(Render("{% for m in messages %}{{ loop.index }}{{ m.role[0] }}{% if not loop.last "
                   "%},{% endif %}{% endfor %}"),
            "1u,2a");
  EXPECT_EQ(Render("{% for m in messages if m.role == 'assistant' %}{{ loop.length }}"
                   "{{ m['content'] }}{% endfor %}"),
            "1yo");
  EXPECT_EQ(Render("{% for m in [] %}x{% else %}empty{% endfor %}"), "empty");
  // A set inside a loop stays there; a namespace carries it out.
  EXPECT_EQ(Render("{% set n = 0 %}{% set ns = namespace(n=0) %}{% for m in messages %}"
                   "{% set n = n + 1 %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ n }}/{{ ns.n }}"),
            "0/2");
  EXPECT_EQ(Render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"),
            "a=1;b=2;");
  EXPECT_EQ(Render("{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}"
                   "{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"),
            "02");
  EXPECT_EQ(Render("{% set t %}in {{ x }}{% endset %}[{{ t }}]"), "[in 3]");
}

TEST(JinjaTest, MacrosAndFilterBlocks) {
  EXPECT_EQ(Render("{% macro tag(name, close=false) %}<{{ '/' if close }}{{ name }}>"
                   "{% endmacro %}{{ tag('a') }}{{ tag('a', close=true) }}"),
            "<a></a>");
  EXPECT_EQ(Render("{% filter upper %}up {{ x }}{% endfilter %}"), "UP 3");
  EXPECT_NE(Render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("over 64 deep"),
            std::string::npos);
}

TEST(JinjaTest, FiltersTestsAndMethods) {
  EXPECT_EQ(Render("{{ '  a b  ' | trim }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}"),
            "a b|['a', 'b', '', 'c']|['a', 'b']");
  EXPECT_EQ(Render("{{ {'k': [1, 2.5, none, true, 'é\"']} | tojson }}"),
            "{\"k\": [1, 2.5, null, true, \"é\\\"\"]}");
  EXPECT_EQ(Render("{{ {'a': {'b': 1}} | tojson(indent=2) }}"),
            "{\n  \"a\": {\n    \"b\": 1\n  }\n}");
  EXPECT_EQ(Render("{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content')"
                   " | join(', ') }}"),
            "hi");
  EXPECT_EQ(Render("{{ messages | rejectattr('role', 'eq', 'user') | list | length }}"), "1");
  EXPECT_EQ(Render("{{ undefined_name | default('d') }}{{ none | string }}{{ [1, 'a'] }}"),
            "dNone[1, 'a']");
  EXPECT_EQ(Render("[{{ undefined_name | length }}{{ undefined_name | trim }}"
                   "{{ undefined_name | list }}{{ 'a' in undefined_name }}]"),
            "[0[]False]");
  EXPECT_EQ(Render("{{ 'x' is string }}{{ x is number }}{{ y is defined }}{{ none is none }}"
                   "{{ x is divisibleby 3 }}{{ 'a' in 'cat' }}{{ 2 not in [1] }}"),
            "TrueTrueFalseTrueTrueTrueTrue");
  EXPECT_EQ(Render("{{ 'Hello'.startswith(('x', 'He')) }}{{ 'abc'.rstrip('c') }}"
                   "{{ {'a': 1}.get('b', 'none') }}{{ 'a b'.title() }}"),
            "TrueabnoneA B");
  EXPECT_EQ(Render("{{ 'line1\nline2' | indent(2) }}"), "line1\n  line2");
  // str.format's fields (Tencent's Hy3 builds its special tokens so).
  EXPECT_EQ(Render("{{ '<{}|{}>'.format('a', x) }}{{ '{1}{0}{{}}'.format(1, 'b') }}"
                   "{{ '[{n}]'.format(n=none) }}"),
            "<a|3>b1{}[None]");
  EXPECT_NE(Render("{{ '{:>4}'.format(1) }}").find("format spec"), std::string::npos);
  EXPECT_NE(Render("{{ '{} {}'.format(1) }}").find("no argument for field '{}'"),
            std::string::npos);
  EXPECT_EQ(Render("{{ 'héllo'[1:3] }}{{ [1, 2, 3][::-1] }}{{ 'héllo' | length }}"),
            "él[3, 2, 1]5");
}

TEST(JinjaTest, PythonOperatorsAndReprs) {
  EXPECT_EQ(Render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}"),
            "3 -4 1 2 3.5 1024");
  EXPECT_EQ(Render("{{ 1 == 1.0 }} {{ 'a' ~ 1 ~ none }} {{ 'ab' * 2 }} {{ [1] + [2] }}"),
            "True a1None abab [1, 2]");
  EXPECT_EQ(Render("{{ 2.0 }} {{ 1e20 }} {{ 0.1 + 0.2 }} {{ true and 'y' }} {{ 0 or 'z' }}"),
            "2.0 1e+20 0.30000000000000004 y z");
  EXPECT_EQ(Render("{{ 'yes' if x > 2 else 'no' }}{{ 'never' if false }}."), "yes.");
  EXPECT_EQ(Render("{{ \"it's\" }} {{ ['it\\'s'] }} {{ {'a': 'b'} }}"),
            "it's [\"it's\"] {'a': 'b'}");
}

// Dict keys of any hashable kind, as Python's (ByteDance Seed-OSS's template looks its reflection
// interval up in a dict of ints, sorted with dictsort): 1, 1.0 and True are one key.
TEST(JinjaTest, DictsWithKeysOtherThanStrings) {
  EXPECT_EQ(Render("{% set d = {2: 'b', 1: 'a', 'k': 'v'} %}{{ d[1] }}{{ d[2] }}{{ d['k'] }}|"
                   "{{ d[1.0] }}|{{ d[true] }}|{{ d[3] is defined }}"),
            "abv|a|a|False");
  EXPECT_EQ(Render("{% set d = {16384: 1024, 0: 0, 512: 128} %}{% for k, v in d | dictsort %}"
                   "{{ k }}:{{ v }};{% endfor %}"),
            "0:0;512:128;16384:1024;");
  EXPECT_EQ(Render("{% set d = {1: 'x', none: 'n', true: 'y'} %}{{ d }}|{{ d | tojson }}|"
                   "{{ 1 in d }}|{{ 2 in d }}|{{ d.get(1) }}"),
            "{1: 'y', None: 'n'}|{\"1\": \"y\", \"null\": \"n\"}|True|False|y");
  EXPECT_EQ(Render("{{ {2: 1, 10: 2} | tojson(sort_keys=true) }}"), "{\"2\": 1, \"10\": 2}");
  EXPECT_EQ(Render("{% for k in {3: 'a', 1: 'b'} %}{{ k + 1 }}{% endfor %}"), "42");
  // dictsort: case-insensitive and stable by default, by value, reversed (still stable).
  const std::string d = "{% set d = {'b': 1, 'A': 2, 'a': 3} %}";
  const std::string each = " %}{{ k }}{{ v }}{% endfor %}";
  EXPECT_EQ(Render(d + "{% for k, v in d | dictsort" + each), "A2a3b1");
  EXPECT_EQ(Render(d + "{% for k, v in d | dictsort(true)" + each), "A2a3b1");
  EXPECT_EQ(Render(d + "{% for k, v in d | dictsort(by='value', reverse=true)" + each), "a3A2b1");
  // What Python refuses: a list as a key, and ordering strings against numbers.
  EXPECT_NE(Render("{{ {[1]: 2} }}").find("a list cannot be a dict key"), std::string::npos);
  EXPECT_NE(Render("{{ {1: 'a', 'b': 2} | dictsort }}").find("'<' not supported"),
            std::string::npos);
  EXPECT_NE(Render("{{ {1: 'a', 'b': 2} | tojson(sort_keys=true) }}").find("'<' not supported"),
            std::string::npos);
}

TEST(JinjaTest, ErrorsNameTheLine) {
  EXPECT_NE(
      Render("ok\n{{ raise_exception('no system role') }}").find("raise_exception: no system role"),
      std::string::npos);
  EXPECT_NE(Render("a\n{{ missing.attr }}")
                .find("line 2: 'attr' of an undefined value ('missing' is undefined)"),
            std::string::npos);
  EXPECT_NE(Render("{% if x %}\n{% endfor %}").find("line 2: {% endfor %} closes no block"),
            std::string::npos);
  EXPECT_NE(Render("{{ 1 + }}").find("PARSE ERROR: INVALID_ARGUMENT: line 1: expected a value"),
            std::string::npos);
  EXPECT_NE(Render("{% if x %}open").find("ends inside a block"), std::string::npos);
  EXPECT_NE(Render("{% include 'x' %}").find("UNIMPLEMENTED"), std::string::npos);
  EXPECT_NE(Render("{{ x | no_such_filter }}").find("no_such_filter"), std::string::npos);
  EXPECT_NE(Render("{{ 'unterminated }}").find("not closed"), std::string::npos);
}

TEST(JinjaTest, HostileTemplatesAreRefusedNotRun) {
  EXPECT_NE(Render("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}")
                .find("nested over 200"),
            std::string::npos);
  std::string blocks;
  for (int i = 0; i < 500; ++i) blocks += "{% if true %}";
  EXPECT_NE(Render(blocks).find("nested over 200"), std::string::npos);
  EXPECT_NE(Render("{% for i in range(100000) %}{% for j in range(100000) %}{{ 'x' * 100000 }}"
                   "{% endfor %}{% endfor %}")
                .find("output past 64 MiB"),
            std::string::npos);
  EXPECT_NE(Render("{{ range(10000000) | length }}").find("over a million"), std::string::npos);
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  EXPECT_NE(Render(chain + " }}").find("an expression over 1000 deep"), std::string::npos);
  // A large template parses in one pass (line numbers counted once, not per tag).
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "{{ x }}\n";
  EXPECT_EQ(Render(many).size(), 200000u);
}

}  // namespace
}  // namespace sigma::jinja
