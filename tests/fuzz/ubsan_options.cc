// Linked into every fuzzer: UBSan reads its suppressions (ubsan_suppressions.txt, third-party
// reports only) and prints a stack with each report, without UBSAN_OPTIONS set by hand.
extern "C" const char* __ubsan_default_options() {
  return "print_stacktrace=1:suppressions=" SIGMA_SOURCE_DIR "/tests/fuzz/ubsan_suppressions.txt";
}
