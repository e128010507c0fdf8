// Stateful test of contextvars (on the HAMT, with its per-thread get()
// cache) against contextvars::naive (a whole map copied on every set) as the
// oracle.
//
// rapidcheck generates command sequences; each command does the same thing
// to both implementations, which keep separate per-thread current contexts,
// and asserts that every ContextVar reads the same in both afterwards:
// get() (value, default or LookupError), get(fallback), and the contents of
// copy_context(). Commands: set one of four ContextVar<int> (two with a
// default, two without), reset a random outstanding token (also used ones,
// another variable's, and ones made in another context: both must throw the
// same error), copy_context, compare contexts, swap the current context (as
// a fiber switch does), and run a sub-sequence of commands inside a copied
// or saved context (sub-sequences nest two deep; running an entered context
// must fail the same way in both). At the end every saved context is compared.
//
// A second property runs several fibers::Fiber, each setting, resetting
// and reading variables between yields in a random interleaving, against a
// naive context per fiber swapped in and out by hand.
//
// 1000 sequences each by default; RC_PARAMS overrides, e.g.
//   RC_PARAMS="max_success=5000" .bazel/bin/proptest/contextvars_model_test

#include <cstddef>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "contextvars/contextvars.h"
#include "contextvars/naive/contextvars.h"
#include "fibers/fiber.h"
#include "gtest/gtest.h"
#include "proptest/internal/rapidcheck_gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/state.h"

namespace {

namespace cv = ::contextvars;
namespace naive = ::contextvars::naive;

constexpr int kVars = 4;
constexpr int kMaxDepth = 2;
constexpr int kSequences = 1000;

// The same four variables in each implementation: 0 and 1 have defaults, 2
// and 3 have none, so their get() throws LookupError until set.
template <class Var>
const Var& VarOf(int index) {
  static const auto* vars = [] {
    auto* made = new std::vector<std::unique_ptr<Var>>();
    made->push_back(std::make_unique<Var>("with_default_0", 0));
    made->push_back(std::make_unique<Var>("with_default_100", 100));
    made->push_back(std::make_unique<Var>("no_default_a"));
    made->push_back(std::make_unique<Var>("no_default_b"));
    return made;
  }();
  return *(*vars)[index];
}
const cv::ContextVar<int>& HamtVar(int i) {
  return VarOf<cv::ContextVar<int>>(i);
}
const naive::ContextVar<int>& NaiveVar(int i) {
  return VarOf<naive::ContextVar<int>>(i);
}

// What a call did: its value, or the error it threw (type and message).
struct Outcome {
  std::string error;
  int value = 0;

  friend bool operator==(const Outcome& a, const Outcome& b) {
    return a.error == b.error && a.value == b.value;
  }
  friend std::ostream& operator<<(std::ostream& os, const Outcome& outcome) {
    if (outcome.error.empty()) return os << "returned " << outcome.value;
    return os << "threw " << outcome.error;
  }
};

// "ok", or the error's type.
std::string Kind(const Outcome& outcome) {
  if (outcome.error.empty()) return "ok";
  return outcome.error.substr(0, outcome.error.find(':'));
}

template <class F>
Outcome Capture(F&& f) {
  try {
    return {"", f()};
  } catch (const cv::LookupError& e) {
    return {std::string("LookupError: ") + e.what()};
  } catch (const cv::TokenUsedError& e) {
    return {std::string("TokenUsedError: ") + e.what()};
  } catch (const cv::TokenVarMismatchError& e) {
    return {std::string("TokenVarMismatchError: ") + e.what()};
  } catch (const cv::TokenContextMismatchError& e) {
    return {std::string("TokenContextMismatchError: ") + e.what()};
  } catch (const cv::ContextAlreadyEnteredError& e) {
    return {std::string("ContextAlreadyEnteredError: ") + e.what()};
  } catch (const std::exception& e) {
    return {std::string("other std::exception: ") + e.what()};
  }
}

// Both contexts hold the same values for every variable.
void AssertSameContents(const cv::Context& hamt, const naive::Context& oracle) {
  RC_ASSERT(hamt.size() == oracle.size());
  RC_ASSERT(hamt == hamt.copy());
  for (int i = 0; i < kVars; ++i) {
    RC_ASSERT(hamt.contains(HamtVar(i)) == oracle.contains(NaiveVar(i)));
    RC_ASSERT(hamt.get(HamtVar(i)) == oracle.get(NaiveVar(i)));
  }
  size_t entries = 0;
  for (const auto& entry : hamt) {
    ++entries;
    bool known = false;
    for (int i = 0; i < kVars; ++i) {
      if (!entry.holds(HamtVar(i))) continue;
      known = true;
      RC_ASSERT(entry.name() == HamtVar(i).name());
      RC_ASSERT(std::optional<int>(entry.value(HamtVar(i))) ==
                oracle.get(NaiveVar(i)));
    }
    RC_ASSERT(known);
  }
  RC_ASSERT(entries == oracle.size());
}

// Every variable reads the same in the current context of each
// implementation, by every way of reading.
void AssertSameView() {
  for (int i = 0; i < kVars; ++i) {
    // Twice: the second get() is served by the HAMT side's cache.
    for (int repeat = 0; repeat < 2; ++repeat) {
      const Outcome hamt = Capture([&] { return HamtVar(i).get(); });
      const Outcome oracle = Capture([&] { return NaiveVar(i).get(); });
      RC_ASSERT(hamt == oracle);
    }
    RC_ASSERT(HamtVar(i).get(-1) == NaiveVar(i).get(-1));
  }
  AssertSameContents(cv::copy_context(), naive::copy_context());
}

// Makes a new empty context current in both implementations for the life of
// the guard, so test cases do not see each other's values.
class FreshCurrentContexts {
 public:
  FreshCurrentContexts() {
    cv::swap_current_context(hamt_);
    naive::swap_current_context(naive_);
  }
  ~FreshCurrentContexts() {
    cv::swap_current_context(hamt_);
    naive::swap_current_context(naive_);
  }

 private:
  cv::Context hamt_;
  naive::Context naive_;
};

struct TokenTwins {
  int var;
  cv::Token<int> hamt;
  naive::Token<int> naive;
};

struct ContextTwins {
  cv::Context hamt;
  naive::Context naive;
};

// The system under test: what the commands made, in both implementations.
struct Twins {
  std::vector<TokenTwins> tokens;
  std::vector<ContextTwins> contexts;
  // What the sequence exercised, for the summary the test prints.
  std::set<std::string> events;
};

// The model only shapes generation: how deep in nested runs a command is.
struct Shape {
  int depth = 0;
};

using TwinCommand = rc::state::Command<Shape, Twins>;
using TwinCommands = rc::state::Commands<TwinCommand>;

rc::Gen<TwinCommands> GenNestedCommands(const Shape& shape);

struct SetVar : TwinCommand {
  int var = *rc::gen::inRange(0, kVars);
  int value = *rc::gen::inRange(0, 4);  // repeats: sets of an equal value

  void run(const Shape&, Twins& sut) const override {
    cv::Token<int> hamt = HamtVar(var).set(value);
    naive::Token<int> oracle = NaiveVar(var).set(value);
    RC_ASSERT(hamt.old_value() == oracle.old_value());
    RC_ASSERT(!hamt.used() && !oracle.used());
    RC_ASSERT(&hamt.var() == &HamtVar(var));
    sut.tokens.push_back({var, std::move(hamt), std::move(oracle)});
    RC_ASSERT(HamtVar(var).get() == value);
    AssertSameView();
  }

  void show(std::ostream& os) const override {
    os << "set var " << var << " = " << value;
  }
};

// Resets any token made so far, with its own variable or (1 in 4) another:
// used tokens, tokens of another variable and tokens made in another context
// must fail in both implementations alike and change nothing.
struct ResetToken : TwinCommand {
  size_t pick = *rc::gen::arbitrary<size_t>();
  int other_var = *rc::gen::weightedElement<int>({{3, 0}, {1, 1}, {1, 2}});

  void run(const Shape&, Twins& sut) const override {
    if (sut.tokens.empty()) return;
    TokenTwins& token = sut.tokens[pick % sut.tokens.size()];
    const int var = (token.var + other_var) % kVars;
    const Outcome hamt = Capture([&] {
      HamtVar(var).reset(token.hamt);
      return 0;
    });
    const Outcome oracle = Capture([&] {
      NaiveVar(var).reset(token.naive);
      return 0;
    });
    RC_ASSERT(hamt == oracle);
    RC_ASSERT(token.hamt.used() == token.naive.used());
    sut.events.insert("reset: " + Kind(hamt));
    AssertSameView();
  }

  void show(std::ostream& os) const override {
    os << "reset token pick " << pick
       << (other_var ? " with another variable" : "");
  }
};

struct GetAll : TwinCommand {
  void run(const Shape&, Twins&) const override { AssertSameView(); }
  void show(std::ostream& os) const override { os << "get every var"; }
};

struct CopyContext : TwinCommand {
  bool empty_instead = *rc::gen::weightedElement<bool>({{4, false}, {1, true}});

  void run(const Shape&, Twins& sut) const override {
    if (empty_instead) {
      sut.contexts.push_back({cv::Context(), naive::Context()});
    } else {
      sut.contexts.push_back({cv::copy_context(), naive::copy_context()});
    }
    AssertSameContents(sut.contexts.back().hamt, sut.contexts.back().naive);
  }

  void show(std::ostream& os) const override {
    os << (empty_instead ? "save a new empty context" : "save copy_context()");
  }
};

struct CompareContexts : TwinCommand {
  size_t first = *rc::gen::arbitrary<size_t>();
  size_t second = *rc::gen::arbitrary<size_t>();

  void run(const Shape&, Twins& sut) const override {
    if (sut.contexts.empty()) return;
    const ContextTwins& a = sut.contexts[first % sut.contexts.size()];
    const ContextTwins& b = sut.contexts[second % sut.contexts.size()];
    RC_ASSERT((a.hamt == b.hamt) == (a.naive == b.naive));
    RC_ASSERT((a.hamt != b.hamt) == (a.naive != b.naive));
    RC_ASSERT(a.hamt.is(b.hamt) == a.naive.is(b.naive));
    RC_ASSERT((cv::copy_context() == a.hamt) ==
              (naive::copy_context() == a.naive));
  }

  void show(std::ostream& os) const override {
    os << "compare saved contexts " << first << " and " << second;
  }
};

// What a fiber switch does: the saved context becomes current and the
// current one takes its place in the list. Only outside nested runs, where
// run() would restore a context that is no longer the one it entered.
struct SwapCurrent : TwinCommand {
  size_t pick = *rc::gen::arbitrary<size_t>();

  void run(const Shape& shape, Twins& sut) const override {
    if (shape.depth > 0 || sut.contexts.empty()) return;
    ContextTwins& slot = sut.contexts[pick % sut.contexts.size()];
    cv::swap_current_context(slot.hamt);
    naive::swap_current_context(slot.naive);
    sut.events.insert("swap current context");
    AssertSameView();
  }

  void show(std::ostream& os) const override {
    os << "swap the current context with saved " << pick;
  }
};

// Runs `body` inside a saved context or a new copy of the current one. A
// saved context that is already entered (an outer run of this sequence) must
// be refused by both.
struct RunNested : TwinCommand {
  bool new_copy = *rc::gen::arbitrary<bool>();
  size_t pick = *rc::gen::arbitrary<size_t>();
  TwinCommands body;

  explicit RunNested(const Shape& shape) {
    if (shape.depth < kMaxDepth) {
      body = *rc::gen::scale(0.3, GenNestedCommands(Shape{shape.depth + 1}));
    }
  }

  void run(const Shape& shape, Twins& sut) const override {
    if (new_copy || sut.contexts.empty()) {
      sut.contexts.push_back({cv::copy_context(), naive::copy_context()});
    }
    // Copies of the handles: the body may add to sut.contexts.
    const ContextTwins target = new_copy || sut.contexts.size() == 1
                                    ? sut.contexts.back()
                                    : sut.contexts[pick % sut.contexts.size()];
    const Shape inner{shape.depth + 1};
    bool entered = false;
    Outcome oracle;
    const Outcome hamt = Capture([&] {
      return target.hamt.run([&] {
        oracle = Capture([&] {
          return target.naive.run([&] {
            entered = true;
            AssertSameView();
            for (const auto& command : body) command->run(inner, sut);
            return 1;
          });
        });
        return 1;
      });
    });
    sut.events.insert(entered ? "run at depth " + std::to_string(inner.depth)
                              : "run refused: " + Kind(hamt));
    if (entered) {
      const Outcome ran{"", 1};
      RC_ASSERT(hamt == ran);
      RC_ASSERT(oracle == ran);
    } else {
      RC_ASSERT(!hamt.error.empty());
      if (oracle.error.empty()) {  // the HAMT side refused first
        oracle = Capture([&] { return target.naive.run([] { return 1; }); });
      }
      RC_ASSERT(hamt == oracle);
    }
    // run() restored the caller's context.
    AssertSameView();
    AssertSameContents(target.hamt, target.naive);
  }

  void show(std::ostream& os) const override {
    os << "run in " << (new_copy ? "a new copy" : "saved context pick ")
       << (new_copy ? "" : std::to_string(pick)) << " {";
    for (const auto& command : body) {
      os << " ";
      command->show(os);
      os << ";";
    }
    os << " }";
  }
};

auto GenTwinCommand() {
  return rc::state::gen::execOneOfWithArgs<
      SetVar, SetVar, ResetToken, ResetToken, GetAll, CopyContext,
      CompareContexts, SwapCurrent, RunNested>();
}

rc::Gen<TwinCommands> GenNestedCommands(const Shape& shape) {
  return rc::state::gen::commands(shape, GenTwinCommand());
}

TEST(ContextvarsModelTest, HamtAgreesWithNaive) {
  std::map<std::string, int> sequences_with;
  proptest_internal::CheckProperty(
      [&] {
        FreshCurrentContexts fresh;
        Twins sut;
        rc::state::check(Shape(), sut, GenTwinCommand());
        AssertSameView();
        for (const ContextTwins& saved : sut.contexts) {
          AssertSameContents(saved.hamt, saved.naive);
        }
        for (const std::string& event : sut.events) ++sequences_with[event];
      },
      kSequences);
  std::cout << "sequences (shrinks included) that exercised:\n";
  for (const auto& [event, count] : sequences_with) {
    std::cout << "  " << event << ": " << count << "\n";
  }
}

// One step of a fiber's script.
struct FiberStep {
  enum Kind { kSet, kResetLast, kRead } kind;
  int var;
  int value;
  bool yield_after;
};

std::ostream& operator<<(std::ostream& os, const FiberStep& step) {
  static const char* const kNames[] = {"set", "reset last", "read"};
  os << kNames[step.kind];
  if (step.kind == FiberStep::kSet)
    os << " var " << step.var << " = " << step.value;
  return os << (step.yield_after ? ", yield" : "");
}

rc::Gen<FiberStep> GenFiberStep() {
  return rc::gen::build<FiberStep>(
      rc::gen::set(&FiberStep::kind,
                   rc::gen::element(FiberStep::kSet, FiberStep::kResetLast,
                                    FiberStep::kRead)),
      rc::gen::set(&FiberStep::var, rc::gen::inRange(0, kVars)),
      rc::gen::set(&FiberStep::value, rc::gen::inRange(0, 4)),
      rc::gen::set(&FiberStep::yield_after,
                   rc::gen::weightedElement<bool>({{1, false}, {3, true}})));
}

// Swaps a naive context in for one step of a fiber, as the fiber swaps its
// HAMT context in on resume.
class NaiveContextIn {
 public:
  explicit NaiveContextIn(naive::Context& slot) : slot_(slot) {
    naive::swap_current_context(slot_);
  }
  ~NaiveContextIn() { naive::swap_current_context(slot_); }

 private:
  naive::Context& slot_;
};

TEST(ContextvarsModelTest, FibersKeepTheirOwnContexts) {
  proptest_internal::CheckProperty(
      [] {
        FreshCurrentContexts fresh;
        // The resumer's own values, which no fiber may change.
        const int main_sets = *rc::gen::inRange(0, 3);
        std::vector<cv::Token<int>> main_tokens;
        for (int i = 0; i < main_sets; ++i) {
          main_tokens.push_back(HamtVar(i).set(10 + i));
          NaiveVar(i).set(10 + i);
        }
        const auto scripts =
            *rc::gen::container<std::vector<std::vector<FiberStep>>>(
                *rc::gen::inRange<size_t>(1, 5),
                rc::gen::container<std::vector<FiberStep>>(GenFiberStep()));
        const auto start_from_copy = *rc::gen::container<std::vector<bool>>(
            scripts.size(), rc::gen::arbitrary<bool>());
        const auto schedule = *rc::gen::container<std::vector<size_t>>(
            rc::gen::inRange<size_t>(0, scripts.size()));

        std::vector<naive::Context> naive_contexts;
        std::vector<fibers::Fiber> fiber_list;
        naive_contexts.reserve(scripts.size());
        for (size_t f = 0; f < scripts.size(); ++f) {
          fibers::FiberOptions options;
          if (start_from_copy[f]) {
            options.context = cv::copy_context();
            naive_contexts.push_back(naive::copy_context());
          } else {
            naive_contexts.emplace_back();
          }
          naive::Context* oracle = &naive_contexts.back();
          const std::vector<FiberStep>* script = &scripts[f];
          fiber_list.emplace_back(
              [oracle, script] {
                std::vector<TokenTwins> tokens;
                for (const FiberStep& step : *script) {
                  {
                    NaiveContextIn in(*oracle);
                    if (step.kind == FiberStep::kSet) {
                      tokens.push_back({step.var,
                                        HamtVar(step.var).set(step.value),
                                        NaiveVar(step.var).set(step.value)});
                    } else if (step.kind == FiberStep::kResetLast &&
                               !tokens.empty()) {
                      TokenTwins& last = tokens.back();
                      HamtVar(last.var).reset(last.hamt);
                      NaiveVar(last.var).reset(last.naive);
                      tokens.pop_back();
                    }
                    AssertSameView();
                  }
                  if (step.yield_after) fibers::yield();
                }
              },
              std::move(options));
        }
        for (size_t f : schedule) {
          if (!fiber_list[f].done()) fiber_list[f].resume();
          AssertSameView();
        }
        for (fibers::Fiber& fiber : fiber_list) {
          while (!fiber.done()) fiber.resume();
        }
        AssertSameView();
        for (int i = 0; i < main_sets; ++i)
          RC_ASSERT(HamtVar(i).get() == 10 + i);
      },
      kSequences);
}

}  // namespace
