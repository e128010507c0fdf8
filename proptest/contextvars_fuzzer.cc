// libFuzzer harness for contextvars, differential against contextvars::naive:
// the input bytes are a program of contextvars operations, run step by step
// on both implementations (each with its own variables, tokens and
// contexts); after every step every observable must agree, else abort.
//
// Operations: set, reset (of a pool of tokens, so valid, used, another
// variable's and another context's tokens all occur), get, Context::get,
// Token::old_value, copy_context, Context::run of a saved context (nested,
// and re-entry of an entered one, which must throw the same error), handle
// aliasing, ==, iteration, scoped_set around a nested block, and fiber
// switches (two fibers::Fiber for the HAMT side, whose naive contexts are
// swapped by hand around resume(), as the fiber does for the HAMT).
//
// Values are user code that re-enters contextvars: a value's destructor may
// set and reset a variable (also one whose own destructor does so), read
// every variable, iterate copy_context() and check it, or run a fresh
// context with sets inside; its operator== may do the same; its copy (made
// by get(), Context::get() and old_value()) may throw. What such code does
// always undoes itself (a set followed by the reset of its token), because
// when a value is destroyed differs between the implementations (the HAMT
// may keep an old node, and the values in it, alive a little longer): the
// observables stay comparable while every re-entrant path runs.
//
// Observables checked after every step: for each variable get() (value,
// default, LookupError or the copy's error) and contains(); for the current
// and every saved context size(), the iterated contents, and Context::get();
// the error each operation threw, and == between contexts.
//
// Input layout: every byte is an opcode, followed by its operands (a missing
// operand reads as 0).
//
// Built and run by tools/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined);
// contextvars_fuzzer_replay_test replays proptest/corpus/contextvars_fuzzer
// under `bazel test` and ctest.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "contextvars/contextvars.h"
#include "contextvars/naive/contextvars.h"
#include "fibers/fiber.h"
#include "proptest/internal/fuzz_check.h"

namespace {

constexpr int kVars = 4;    // 0 and 1 have a default, 2 and 3 none
constexpr int kTokens = 8;  // token pool size per implementation
constexpr int kSaved = 4;   // saved contexts per implementation
constexpr int kFibers = 2;
constexpr int kMaxNesting = 4;  // nested blocks (run, scoped_set, resume)

// Thrown by a value's copy constructor.
struct CopyError : std::runtime_error {
  CopyError() : std::runtime_error("contextvars_fuzzer: copy of a value") {}
};

// What an operation did: a value (payload), absent (nullopt), or which
// error it threw.
enum class Outcome {
  kValue,
  kNone,
  kLookupError,
  kTokenUsed,
  kTokenVar,
  kTokenContext,
  kAlreadyEntered,
  kCopyError,
};

struct Result {
  Outcome outcome = Outcome::kNone;
  int payload = 0;
  friend bool operator==(const Result& a, const Result& b) {
    return a.outcome == b.outcome &&
           (a.outcome != Outcome::kValue || a.payload == b.payload);
  }
};

template <class Fn>
Result Capture(Fn fn) {
  try {
    return fn();
  } catch (const contextvars::LookupError&) {
    return {Outcome::kLookupError};
  } catch (const contextvars::TokenUsedError&) {
    return {Outcome::kTokenUsed};
  } catch (const contextvars::TokenVarMismatchError&) {
    return {Outcome::kTokenVar};
  } catch (const contextvars::TokenContextMismatchError&) {
    return {Outcome::kTokenContext};
  } catch (const contextvars::ContextAlreadyEnteredError&) {
    return {Outcome::kAlreadyEntered};
  } catch (const CopyError&) {
    return {Outcome::kCopyError};
  }
}

// Hook actions, run by a value's destructor or operator==.
enum Hook : uint8_t {
  kNoHook,
  kSetAndReset,        // set a variable, reset the token
  kSetHookedAndReset,  // the same with a value that itself has kSetAndReset
  kReadAll,            // get every variable, iterate copy_context(), check
  kRunFresh,           // run a fresh Context with sets inside
  kHookCount,
};

template <class Impl>
void RunHook(uint8_t hook, int payload) noexcept;

// The value type of every variable. Only the original (the value set()
// boxed) runs its destructor hook; copies and moved-from values do not.
template <class Impl>
struct Value {
  Value(int value_payload, uint8_t destroy_hook, uint8_t equal_hook,
        bool copy_throws)
      : payload(value_payload),
        on_destroy(destroy_hook),
        on_equal(equal_hook),
        throw_on_copy(copy_throws),
        armed(true) {}
  Value(const Value& other)
      : payload(other.payload),
        on_destroy(other.on_destroy),
        on_equal(other.on_equal),
        throw_on_copy(other.throw_on_copy),
        armed(false) {
    if (throw_on_copy) throw CopyError();
  }
  Value(Value&& other) noexcept
      : payload(other.payload),
        on_destroy(other.on_destroy),
        on_equal(other.on_equal),
        throw_on_copy(other.throw_on_copy),
        armed(std::exchange(other.armed, false)) {}
  Value& operator=(const Value&) = delete;
  ~Value() {
    if (armed && on_destroy != kNoHook) RunHook<Impl>(on_destroy, payload);
  }
  friend bool operator==(const Value& a, const Value& b) {
    if (a.on_equal != kNoHook) RunHook<Impl>(a.on_equal, a.payload);
    return a.payload == b.payload;
  }

  int payload;
  uint8_t on_destroy;
  uint8_t on_equal;
  bool throw_on_copy;
  bool armed;
};

struct HamtImpl {
  using Context = contextvars::Context;
  using Var = contextvars::ContextVar<Value<HamtImpl>>;
  using Token = contextvars::Token<Value<HamtImpl>>;
  using ScopedSet = contextvars::ScopedSet<Value<HamtImpl>>;
  static Context copy_context() { return contextvars::copy_context(); }
  static void swap_current_context(Context& slot) {
    contextvars::swap_current_context(slot);
  }
};

struct NaiveImpl {
  using Context = contextvars::naive::Context;
  using Var = contextvars::naive::ContextVar<Value<NaiveImpl>>;
  using Token = contextvars::naive::Token<Value<NaiveImpl>>;
  using ScopedSet = contextvars::naive::ScopedSet<Value<NaiveImpl>>;
  static Context copy_context() { return contextvars::naive::copy_context(); }
  static void swap_current_context(Context& slot) {
    contextvars::naive::swap_current_context(slot);
  }
};

// The variables live as long as the process: values destroyed late (in
// contexts released after a run) still find them.
template <class Impl>
const typename Impl::Var& VarOf(int index) {
  static const auto* vars = [] {
    auto* made = new std::vector<std::unique_ptr<typename Impl::Var>>();
    for (int i = 0; i < kVars; ++i) {
      const std::string name = "v" + std::to_string(i);
      if (i < 2) {
        made->push_back(std::make_unique<typename Impl::Var>(
            name, Value<Impl>(100 + i, kNoHook, kNoHook, false)));
      } else {
        made->push_back(std::make_unique<typename Impl::Var>(name));
      }
    }
    return made;
  }();
  return *(*vars)[index];
}

template <class Impl>
Result GetOf(const typename Impl::Var& var) {
  return Capture([&] { return Result{Outcome::kValue, var.get().payload}; });
}

// The contents of a context, by variable index; also checks that the
// context agrees with itself (size, iteration, contains, at).
template <class Impl>
std::map<int, int> ContentsOf(const typename Impl::Context& ctx) {
  std::map<int, int> contents;
  size_t count = 0;
  for (auto entry : ctx) {
    ++count;
    int index = -1;
    for (int i = 0; i < kVars; ++i) {
      if (entry.holds(VarOf<Impl>(i))) index = i;
    }
    PERSIST_PROPTEST_FUZZ_CHECK(index >= 0);
    PERSIST_PROPTEST_FUZZ_CHECK(
        contents.emplace(index, entry.value(VarOf<Impl>(index)).payload)
            .second);
  }
  PERSIST_PROPTEST_FUZZ_CHECK(count == ctx.size());
  PERSIST_PROPTEST_FUZZ_CHECK(ctx.empty() == (count == 0));
  for (int i = 0; i < kVars; ++i) {
    const bool has = contents.count(i) == 1;
    PERSIST_PROPTEST_FUZZ_CHECK(ctx.contains(VarOf<Impl>(i)) == has);
    if (has) {
      PERSIST_PROPTEST_FUZZ_CHECK(ctx.at(VarOf<Impl>(i)).payload ==
                                  contents[i]);
    }
  }
  return contents;
}

template <class Impl>
void RunHook(uint8_t hook, int payload) noexcept {
  const auto& var = VarOf<Impl>(static_cast<unsigned>(payload) % kVars);
  switch (hook) {
    case kSetAndReset: {
      auto token = var.set(Value<Impl>(payload + 1, kNoHook, kNoHook, false));
      var.reset(token);
      break;
    }
    case kSetHookedAndReset: {
      auto token =
          var.set(Value<Impl>(payload + 1, kSetAndReset, kNoHook, false));
      var.reset(token);
      break;
    }
    case kReadAll: {
      for (int i = 0; i < kVars; ++i) GetOf<Impl>(VarOf<Impl>(i));
      const typename Impl::Context snapshot = Impl::copy_context();
      const std::map<int, int> contents = ContentsOf<Impl>(snapshot);
      for (int i = 0; i < kVars; ++i) {
        const Result got = GetOf<Impl>(VarOf<Impl>(i));
        if (contents.count(i) == 1) {
          // Present: its value, unless its copy throws.
          PERSIST_PROPTEST_FUZZ_CHECK(got.outcome == Outcome::kCopyError ||
                                      (got.outcome == Outcome::kValue &&
                                       got.payload == contents.at(i)));
        } else {
          PERSIST_PROPTEST_FUZZ_CHECK(
              got.outcome == (i < 2 ? Outcome::kValue : Outcome::kLookupError));
        }
      }
      break;
    }
    case kRunFresh: {
      typename Impl::Context fresh;
      fresh.run([&] {
        var.set(Value<Impl>(payload + 2, kSetAndReset, kNoHook, false));
        var.set(Value<Impl>(payload + 3, kSetAndReset, kNoHook, false));
      });
      break;
    }
    default:
      break;
  }
}

// Reads the program; past the end every byte is 0.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return position_ >= size_; }
  uint8_t Next() { return position_ < size_ ? data_[position_++] : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
};

// One implementation's side of the program.
template <class Impl>
struct Side {
  using Context = typename Impl::Context;
  using Token = typename Impl::Token;

  Side() : saved(kSaved), fiber_slots(kFibers) {
    Impl::swap_current_context(outer);  // a fresh current context
  }
  ~Side() {
    tokens.clear();
    saved.clear();
    Impl::swap_current_context(outer);
  }

  Context outer;  // the caller's context while the program runs
  std::vector<std::optional<Token>> tokens =
      std::vector<std::optional<Token>>(kTokens);
  std::vector<Context> saved;
  std::vector<Context> fiber_slots;  // naive only: the fibers' contexts
};

class Program {
 public:
  explicit Program(ByteReader& in) : in_(in) {}

  void Run() {
    Interpret(/*fiber=*/-1, /*level=*/0);
    // Suspended fibers unwind their stacks; the naive side's context is
    // swapped in around it, as resume() does for the HAMT side.
    for (int f = 0; f < kFibers; ++f) {
      if (fibers_[f] == nullptr) continue;
      NaiveImpl::swap_current_context(naive_.fiber_slots[f]);
      fibers_[f].reset();
      NaiveImpl::swap_current_context(naive_.fiber_slots[f]);
      Compare();
    }
  }

 private:
  using HVar = HamtImpl::Var;
  using NVar = NaiveImpl::Var;

  // Counts the nested blocks on the current resume chain.
  struct Nest {
    explicit Nest(int& depth) : depth_(depth) { ++depth_; }
    ~Nest() { --depth_; }
    int& depth_;
  };

  static const HVar& H(int i) { return VarOf<HamtImpl>(i); }
  static const NVar& N(int i) { return VarOf<NaiveImpl>(i); }

  int VarIndex() { return in_.Next() % kVars; }

  // Runs operations until the input ends or an "end" closes this block
  // (level > 0). At the top of a fiber's body (level 0), "end" yields.
  void Interpret(int fiber, int level) {
    while (!in_.done()) {
      const uint8_t op = in_.Next() % 15;
      switch (op) {
        case 0:
          Set();
          break;
        case 1:
          Reset();
          break;
        case 2: {  // get, and get(fallback)
          const int v = VarIndex();
          PERSIST_PROPTEST_FUZZ_CHECK(GetOf<HamtImpl>(H(v)) ==
                                      GetOf<NaiveImpl>(N(v)));
          const Result h = Capture([&] {
            return Result{
                Outcome::kValue,
                H(v).get(Value<HamtImpl>(-7, kNoHook, kNoHook, false)).payload};
          });
          const Result n = Capture([&] {
            return Result{
                Outcome::kValue,
                N(v).get(Value<NaiveImpl>(-7, kNoHook, kNoHook, false))
                    .payload};
          });
          PERSIST_PROPTEST_FUZZ_CHECK(h == n);
          break;
        }
        case 3: {  // copy_context into a saved slot
          const int s = in_.Next() % kSaved;
          hamt_.saved[s] = HamtImpl::copy_context();
          naive_.saved[s] = NaiveImpl::copy_context();
          break;
        }
        case 4:  // run a saved context around a nested block
          RunSaved(in_.Next() % kSaved, fiber, level);
          break;
        case 5:  // end of the block
          if (level > 0) return;
          if (fiber >= 0) fibers::yield();
          break;
        case 6:  // yield wherever we are in a fiber
          if (fiber >= 0) fibers::yield();
          break;
        case 7: {  // ==, between saved contexts and with the current one
          const int s = in_.Next() % kSaved, t = in_.Next() % kSaved;
          PERSIST_PROPTEST_FUZZ_CHECK((hamt_.saved[s] == hamt_.saved[t]) ==
                                      (naive_.saved[s] == naive_.saved[t]));
          PERSIST_PROPTEST_FUZZ_CHECK(
              (HamtImpl::copy_context() != hamt_.saved[s]) ==
              (NaiveImpl::copy_context() != naive_.saved[s]));
          break;
        }
        case 8: {  // alias: two handles of one context
          const int s = in_.Next() % kSaved, t = in_.Next() % kSaved;
          hamt_.saved[t] = hamt_.saved[s];
          naive_.saved[t] = naive_.saved[s];
          break;
        }
        case 9: {  // a new empty context, or a copy of a saved one
          const uint8_t how = in_.Next();
          const int s = how % kSaved, t = (how >> 2) % kSaved;
          if (how & 0x10) {
            hamt_.saved[s] = hamt_.saved[t].copy();
            naive_.saved[s] = naive_.saved[t].copy();
          } else {
            hamt_.saved[s] = HamtImpl::Context();
            naive_.saved[s] = NaiveImpl::Context();
          }
          break;
        }
        case 10: {  // Context::get
          const int s = in_.Next() % kSaved, v = VarIndex();
          const Result h = Capture([&] {
            auto got = hamt_.saved[s].get(H(v));
            return got ? Result{Outcome::kValue, got->payload} : Result{};
          });
          const Result n = Capture([&] {
            auto got = naive_.saved[s].get(N(v));
            return got ? Result{Outcome::kValue, got->payload} : Result{};
          });
          PERSIST_PROPTEST_FUZZ_CHECK(h == n);
          break;
        }
        case 11: {  // Token::old_value
          const int slot = in_.Next() % kTokens;
          auto& ht = hamt_.tokens[slot];
          auto& nt = naive_.tokens[slot];
          PERSIST_PROPTEST_FUZZ_CHECK(ht.has_value() == nt.has_value());
          if (!ht) break;
          const Result h = Capture([&] {
            auto old = ht->old_value();
            return old ? Result{Outcome::kValue, old->payload} : Result{};
          });
          const Result n = Capture([&] {
            auto old = nt->old_value();
            return old ? Result{Outcome::kValue, old->payload} : Result{};
          });
          PERSIST_PROPTEST_FUZZ_CHECK(h == n);
          break;
        }
        case 12:
          ScopedSet(fiber, level);
          break;
        case 13:
          Resume(in_.Next() % kFibers);
          break;
        case 14: {  // drop a token (and maybe the value it keeps)
          const int slot = in_.Next() % kTokens;
          hamt_.tokens[slot].reset();
          naive_.tokens[slot].reset();
          break;
        }
      }
      Compare();
    }
  }

  // Operands of a new value: payload, then flags (destructor hook, operator==
  // hook, whether the copy throws).
  template <class Impl>
  static Value<Impl> MakeValue(uint8_t payload, uint8_t flags) {
    return Value<Impl>(static_cast<int8_t>(payload), (flags & 7) % kHookCount,
                       ((flags >> 3) & 7) % kHookCount, (flags & 0x40) != 0);
  }

  void Set() {
    const int v = VarIndex(), slot = in_.Next() % kTokens;
    const uint8_t payload = in_.Next(), flags = in_.Next();
    hamt_.tokens[slot].emplace(H(v).set(MakeValue<HamtImpl>(payload, flags)));
    naive_.tokens[slot].emplace(N(v).set(MakeValue<NaiveImpl>(payload, flags)));
  }

  // Resets a pooled token through any variable: valid, used, another
  // variable's and another context's tokens all occur.
  void Reset() {
    const int slot = in_.Next() % kTokens, v = VarIndex();
    auto& ht = hamt_.tokens[slot];
    auto& nt = naive_.tokens[slot];
    PERSIST_PROPTEST_FUZZ_CHECK(ht.has_value() == nt.has_value());
    if (!ht) return;
    const Result h = Capture([&] {
      H(v).reset(*ht);
      return Result{};
    });
    const Result n = Capture([&] {
      N(v).reset(*nt);
      return Result{};
    });
    PERSIST_PROPTEST_FUZZ_CHECK(h == n);
    PERSIST_PROPTEST_FUZZ_CHECK(ht->used() == nt->used());
  }

  void RunSaved(int s, int fiber, int level) {
    if (nesting_ >= kMaxNesting) return;
    Nest nest(nesting_);
    // The naive run is nested in the HAMT one, so that both contexts are
    // current for the nested block; each must fail the same way.
    Result n;
    const Result h = Capture([&] {
      hamt_.saved[s].run([&] {
        n = Capture([&] {
          naive_.saved[s].run([&] {
            Compare();
            Interpret(fiber, level + 1);
          });
          return Result{};
        });
      });
      return Result{};
    });
    if (h.outcome == Outcome::kAlreadyEntered) {
      n = Capture([&] {
        naive_.saved[s].run([] {});
        return Result{};
      });
    }
    PERSIST_PROPTEST_FUZZ_CHECK(h == n);
  }

  void ScopedSet(int fiber, int level) {
    const int v = VarIndex();
    const uint8_t payload = in_.Next(), flags = in_.Next();
    if (nesting_ >= kMaxNesting) return;
    Nest nest(nesting_);
    auto hamt_scoped = H(v).scoped_set(MakeValue<HamtImpl>(payload, flags));
    auto naive_scoped = N(v).scoped_set(MakeValue<NaiveImpl>(payload, flags));
    Compare();
    Interpret(fiber, level + 1);
  }

  void Resume(int f) {
    if (running_[f] || nesting_ >= kMaxNesting) return;
    Nest nest(nesting_);
    if (fibers_[f] == nullptr) {
      fibers_[f] = std::make_unique<fibers::Fiber>(
          [this, f] { Interpret(f, /*level=*/0); });
      naive_.fiber_slots[f] = NaiveImpl::Context();
    }
    running_[f] = true;
    NaiveImpl::swap_current_context(naive_.fiber_slots[f]);
    fibers_[f]->resume();
    NaiveImpl::swap_current_context(naive_.fiber_slots[f]);
    running_[f] = false;
    if (fibers_[f]->done()) fibers_[f].reset();
  }

  void Compare() {
    for (int i = 0; i < kVars; ++i) {
      PERSIST_PROPTEST_FUZZ_CHECK(GetOf<HamtImpl>(H(i)) ==
                                  GetOf<NaiveImpl>(N(i)));
    }
    PERSIST_PROPTEST_FUZZ_CHECK(
        ContentsOf<HamtImpl>(HamtImpl::copy_context()) ==
        ContentsOf<NaiveImpl>(NaiveImpl::copy_context()));
    for (int s = 0; s < kSaved; ++s) {
      PERSIST_PROPTEST_FUZZ_CHECK(ContentsOf<HamtImpl>(hamt_.saved[s]) ==
                                  ContentsOf<NaiveImpl>(naive_.saved[s]));
      for (int t = 0; t < s; ++t) {
        PERSIST_PROPTEST_FUZZ_CHECK(hamt_.saved[s].is(hamt_.saved[t]) ==
                                    naive_.saved[s].is(naive_.saved[t]));
      }
    }
    for (int slot = 0; slot < kTokens; ++slot) {
      const auto& ht = hamt_.tokens[slot];
      const auto& nt = naive_.tokens[slot];
      PERSIST_PROPTEST_FUZZ_CHECK(ht.has_value() == nt.has_value());
      if (ht) PERSIST_PROPTEST_FUZZ_CHECK(ht->used() == nt->used());
    }
  }

  ByteReader& in_;
  Side<HamtImpl> hamt_;
  Side<NaiveImpl> naive_;
  // Declared last: destroyed (unwound) before the sides.
  std::unique_ptr<fibers::Fiber> fibers_[kFibers];
  bool running_[kFibers] = {};
  int nesting_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  Program(in).Run();
  return 0;
}
