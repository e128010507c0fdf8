// One test body, run against both implementations (contextvars on the HAMT
// and contextvars::naive) as GoogleTest typed tests.

#include "contextvars/contextvars.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "contextvars/naive/contextvars.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

struct HamtImpl {
  using Context = contextvars::Context;
  template <class T>
  using Var = contextvars::ContextVar<T>;
  template <class T>
  using Token = contextvars::Token<T>;
  static Context copy_context() { return contextvars::copy_context(); }
  template <class Fn>
  static auto wrap(Fn fn) {
    return contextvars::wrap(std::move(fn));
  }
};

struct NaiveImpl {
  using Context = contextvars::naive::Context;
  template <class T>
  using Var = contextvars::naive::ContextVar<T>;
  template <class T>
  using Token = contextvars::naive::Token<T>;
  static Context copy_context() { return contextvars::naive::copy_context(); }
  template <class Fn>
  static auto wrap(Fn fn) {
    return contextvars::naive::wrap(std::move(fn));
  }
};

struct ImplNames {
  template <class T>
  static std::string GetName(int) {
    return std::is_same<T, HamtImpl>::value ? "Hamt" : "Naive";
  }
};

// A value type without operator==: contexts compare such values by identity.
struct Opaque {
  int payload;
};

// Each test runs in a fresh empty context swapped in as the thread's current
// one (which also tests swap_current_context), so tests do not see each
// other's sets.
template <class Impl>
class ContextVarsTest : public ::testing::Test {
 protected:
  void SetUp() override { swap_current_context(saved_); }
  void TearDown() override { swap_current_context(saved_); }

  typename Impl::Context saved_;
};

using Implementations = ::testing::Types<HamtImpl, NaiveImpl>;
TYPED_TEST_SUITE(ContextVarsTest, Implementations, ImplNames);

#define USE_IMPL_TYPES                                        \
  using Impl = TypeParam;                                     \
  using Context = typename Impl::Context;                     \
  using IntVar = typename Impl::template Var<int>;            \
  using StringVar = typename Impl::template Var<std::string>; \
  (void)sizeof(Context);                                      \
  (void)sizeof(IntVar*);                                      \
  (void)sizeof(StringVar*)

// Names of the variables of a context with their int values.
template <class Context, class Var>
std::map<std::string, int> IntEntries(const Context& ctx, const Var& var) {
  std::map<std::string, int> entries;
  for (auto entry : ctx) {
    entries[entry.name()] = entry.holds(var) ? entry.value(var) : -1;
  }
  return entries;
}

TYPED_TEST(ContextVarsTest, GetWithoutValueOrDefaultThrowsLookupError) {
  USE_IMPL_TYPES;
  IntVar var("request_id");
  EXPECT_EQ(var.name(), "request_id");
  EXPECT_FALSE(var.has_default());
  try {
    var.get();
    FAIL() << "get() did not throw";
  } catch (const contextvars::LookupError& e) {
    EXPECT_THAT(e.what(), HasSubstr("request_id"));
    EXPECT_EQ(e.var_name(), "request_id");
  }
  EXPECT_THROW(var.get(), std::out_of_range);
}

TYPED_TEST(ContextVarsTest, GetOrder) {
  USE_IMPL_TYPES;
  IntVar no_default("no_default");
  IntVar with_default("with_default", 7);
  EXPECT_TRUE(with_default.has_default());
  EXPECT_EQ(with_default.get(), 7);
  EXPECT_EQ(no_default.get(3), 3);
  // PEP 567: the fallback given to get() wins over the default.
  EXPECT_EQ(with_default.get(3), 3);
  with_default.set(10);
  no_default.set(11);
  EXPECT_EQ(with_default.get(), 10);
  EXPECT_EQ(with_default.get(3), 10);
  EXPECT_EQ(no_default.get(), 11);
  EXPECT_EQ(no_default.get(3), 11);
}

TYPED_TEST(ContextVarsTest, SetReturnsTokenWithOldValue) {
  USE_IMPL_TYPES;
  StringVar var("var", "default");
  auto first = var.set("a");
  EXPECT_EQ(&first.var(), &var);
  EXPECT_EQ(first.old_value(), std::nullopt);  // Token.MISSING
  EXPECT_FALSE(first.used());
  auto second = var.set("b");
  EXPECT_EQ(second.old_value(), std::optional<std::string>("a"));
  EXPECT_EQ(var.get(), "b");
}

TYPED_TEST(ContextVarsTest, ResetRestoresOldValueOrRemovesVariable) {
  USE_IMPL_TYPES;
  IntVar var("var");
  auto first = var.set(1);
  auto second = var.set(2);
  var.reset(second);
  EXPECT_TRUE(second.used());
  EXPECT_EQ(var.get(), 1);
  var.reset(first);
  EXPECT_THROW(var.get(), contextvars::LookupError);
  EXPECT_FALSE(Impl::copy_context().contains(var));
  EXPECT_EQ(Impl::copy_context().size(), 0u);
}

TYPED_TEST(ContextVarsTest, ResetWithUsedTokenThrowsRuntimeError) {
  USE_IMPL_TYPES;
  IntVar var("reused");
  auto token = var.set(1);
  var.reset(token);
  var.set(5);
  try {
    var.reset(token);
    FAIL() << "reset() did not throw";
  } catch (const contextvars::TokenUsedError& e) {
    EXPECT_THAT(e.what(), HasSubstr("reused"));
  }
  EXPECT_THROW(var.reset(token), std::runtime_error);
  EXPECT_EQ(var.get(), 5);  // nothing changed
}

TYPED_TEST(ContextVarsTest, ResetWithOtherVariablesTokenThrowsInvalidArgument) {
  USE_IMPL_TYPES;
  IntVar a("a");
  IntVar b("b");
  auto token_a = a.set(1);
  b.set(2);
  try {
    b.reset(token_a);
    FAIL() << "reset() did not throw";
  } catch (const contextvars::TokenVarMismatchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("'b'"));
  }
  EXPECT_THROW(b.reset(token_a), std::invalid_argument);
  EXPECT_FALSE(token_a.used());
  EXPECT_EQ(a.get(), 1);
  EXPECT_EQ(b.get(), 2);
  a.reset(token_a);  // still usable with its own variable
  EXPECT_FALSE(Impl::copy_context().contains(a));
}

TYPED_TEST(ContextVarsTest,
           ResetWithTokenOfAnotherContextThrowsInvalidArgument) {
  USE_IMPL_TYPES;
  IntVar var("var");
  auto outer_token = var.set(1);
  Context ctx = Impl::copy_context();
  ctx.run([&] {
    EXPECT_THROW(var.reset(outer_token),
                 contextvars::TokenContextMismatchError);
    EXPECT_THROW(var.reset(outer_token), std::invalid_argument);
    EXPECT_EQ(var.get(), 1);
  });
  EXPECT_FALSE(outer_token.used());
  auto inner_token = ctx.run([&] { return var.set(2); });
  try {
    var.reset(inner_token);
    FAIL() << "reset() did not throw";
  } catch (const contextvars::TokenContextMismatchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("var"));
  }
  EXPECT_EQ(var.get(), 1);
  EXPECT_EQ(ctx.get(var), 2);
  ctx.run([&] { var.reset(inner_token); });
  EXPECT_EQ(ctx.get(var), 1);
}

TYPED_TEST(ContextVarsTest, MovedFromTokenIsUsed) {
  USE_IMPL_TYPES;
  IntVar var("var");
  auto token = var.set(1);
  auto moved = std::move(token);
  EXPECT_TRUE(token.used());  // NOLINT(bugprone-use-after-move)
  EXPECT_THROW(var.reset(token), contextvars::TokenUsedError);
  var.reset(moved);
  EXPECT_FALSE(Impl::copy_context().contains(var));
}

TYPED_TEST(ContextVarsTest, RunIsolatesSetsAndReturnsResult) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  var.set(1);
  Context ctx = Impl::copy_context();
  int result = ctx.run(
      [&](int x, int& out) {
        EXPECT_EQ(var.get(), 1);
        var.set(x);
        out = var.get();
        return x + 1;
      },
      41, *std::make_unique<int>(0));
  EXPECT_EQ(result, 42);
  EXPECT_EQ(var.get(), 1);
  EXPECT_EQ(ctx.get(var), 41);
  // Sets persist in the context between runs.
  EXPECT_EQ(ctx.run([&] { return var.get(); }), 41);
  // run() forwards references.
  int target = 0;
  int& ref = ctx.run([&]() -> int& { return target; });
  EXPECT_EQ(&ref, &target);
}

TYPED_TEST(ContextVarsTest, NestedRun) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  Context outer;
  Context inner;
  outer.run([&] {
    var.set(1);
    inner.run([&] {
      EXPECT_EQ(var.get(), 0);  // inner is empty
      var.set(2);
    });
    EXPECT_EQ(var.get(), 1);
  });
  EXPECT_EQ(var.get(), 0);
  EXPECT_EQ(outer.get(var), 1);
  EXPECT_EQ(inner.get(var), 2);
}

TYPED_TEST(ContextVarsTest, RunOfEnteredContextThrows) {
  USE_IMPL_TYPES;
  Context ctx;
  Context other;
  ctx.run([&] {
    try {
      ctx.run([] {});
      FAIL() << "re-entry did not throw";
    } catch (const contextvars::ContextAlreadyEnteredError& e) {
      EXPECT_THAT(e.what(), HasSubstr("already entered"));
    }
    // Also when entered in an outer run().
    other.run([&] { EXPECT_THROW(ctx.run([] {}), std::runtime_error); });
    // And from another thread.
    std::thread([&] {
      EXPECT_THROW(ctx.run([] {}), contextvars::ContextAlreadyEnteredError);
    }).join();
  });
  // Not entered any more.
  EXPECT_EQ(ctx.run([] { return 5; }), 5);
}

TYPED_TEST(ContextVarsTest, ExceptionInsideRunRestoresPreviousContext) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  var.set(1);
  Context ctx;
  EXPECT_THROW(ctx.run([&] {
    var.set(2);
    throw std::logic_error("boom");
  }),
               std::logic_error);
  EXPECT_EQ(var.get(), 1);
  EXPECT_EQ(ctx.get(var), 2);  // sets before the throw stay in ctx
  EXPECT_EQ(ctx.run([&] { return var.get(); }), 2);  // not entered any more
}

TYPED_TEST(ContextVarsTest, CopiesAreIsolated) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  var.set(1);
  Context snapshot = Impl::copy_context();
  var.set(2);
  EXPECT_EQ(snapshot.get(var), 1);
  Context copy = snapshot.copy();
  EXPECT_FALSE(copy.is(snapshot));
  EXPECT_TRUE(copy == snapshot);
  copy.run([&] { var.set(3); });
  EXPECT_EQ(snapshot.get(var), 1);
  EXPECT_EQ(copy.get(var), 3);
  EXPECT_EQ(var.get(), 2);
  EXPECT_TRUE(copy != snapshot);
}

TYPED_TEST(ContextVarsTest, HandlesNameTheSameContext) {
  USE_IMPL_TYPES;
  IntVar var("var");
  Context a;
  Context b = a;
  EXPECT_TRUE(b.is(a));
  a.run([&] { var.set(1); });
  EXPECT_EQ(b.get(var), 1);
  EXPECT_THROW(a.run([&] { b.run([] {}); }),
               contextvars::ContextAlreadyEnteredError);
}

TYPED_TEST(ContextVarsTest, MovedFromContextStillNamesTheContext) {
  USE_IMPL_TYPES;
  IntVar var("var");
  Context a;
  a.run([&] { var.set(1); });
  Context b = std::move(a);
  EXPECT_TRUE(a.is(b));  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.get(var), 1);
  Context c;
  c = std::move(b);
  EXPECT_TRUE(b.is(c));  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.run([&] { return var.get(); }), 1);
}

TYPED_TEST(ContextVarsTest, SetOfAnEqualValue) {
  USE_IMPL_TYPES;
  StringVar var("var");
  auto first = var.set("same");
  EXPECT_EQ(var.get(), "same");
  auto second = var.set("same");
  EXPECT_EQ(second.old_value(), std::optional<std::string>("same"));
  EXPECT_EQ(var.get(), "same");
  var.reset(second);
  EXPECT_EQ(var.get(), "same");
  var.reset(first);
  EXPECT_FALSE(Impl::copy_context().contains(var));
  EXPECT_EQ(var.get("none"), "none");
}

TYPED_TEST(ContextVarsTest, MappingView) {
  USE_IMPL_TYPES;
  IntVar a("a");
  IntVar b("b", 5);
  StringVar s("s");
  Context empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_TRUE(empty.begin() == empty.end());

  a.set(1);
  s.set("text");
  Context ctx = Impl::copy_context();
  EXPECT_FALSE(ctx.empty());
  EXPECT_EQ(ctx.size(), 2u);
  EXPECT_TRUE(ctx.contains(a));
  EXPECT_FALSE(ctx.contains(b));  // a default is not a value
  EXPECT_EQ(ctx.get(a), 1);
  EXPECT_EQ(ctx.get(b), std::nullopt);
  EXPECT_EQ(ctx.at(s), "text");
  try {
    ctx.at(b);
    FAIL() << "at() did not throw";
  } catch (const contextvars::LookupError& e) {
    EXPECT_THAT(e.what(), HasSubstr("'b'"));
  }
  EXPECT_THROW(ctx.at(b), std::out_of_range);

  std::vector<std::string> names;
  for (auto it = ctx.begin(); it != ctx.end(); ++it) {
    names.push_back(it->name());
    if (it->holds(a)) {
      EXPECT_EQ(it->value(a), 1);
      EXPECT_EQ(*it->get_if(a), 1);
      EXPECT_EQ(it->get_if(s), nullptr);
      EXPECT_TRUE(it->type() == typeid(int));
      EXPECT_THROW(it->value(s), std::invalid_argument);
    } else {
      EXPECT_TRUE(it->holds(s));
      EXPECT_EQ((*it).value(s), "text");
      EXPECT_TRUE(it->type() == typeid(std::string));
      EXPECT_THROW(it->value(a), std::invalid_argument);
    }
  }
  EXPECT_THAT(names, UnorderedElementsAre("a", "s"));
  EXPECT_EQ(IntEntries(ctx, a),
            (std::map<std::string, int>{{"a", 1}, {"s", -1}}));
}

TYPED_TEST(ContextVarsTest, IterateCopyWhileSetting) {
  USE_IMPL_TYPES;
  std::vector<std::unique_ptr<IntVar>> vars;
  for (int i = 0; i < 50; ++i) {
    vars.push_back(std::make_unique<IntVar>("v" + std::to_string(i)));
    vars.back()->set(i);
  }
  int seen = 0;
  for (auto entry : Impl::copy_context()) {
    for (auto& var : vars) {
      if (entry.holds(*var)) var->set(entry.value(*var) + 100);
    }
    ++seen;
  }
  EXPECT_EQ(seen, 50);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(vars[i]->get(), i + 100);
}

TYPED_TEST(ContextVarsTest, EqualityComparesContents) {
  USE_IMPL_TYPES;
  IntVar a("a");
  StringVar s("s");
  Context x;
  Context y;
  EXPECT_TRUE(x == y);
  x.run([&] {
    a.set(1);
    s.set("t");
  });
  EXPECT_TRUE(x != y);
  y.run([&] {
    s.set("t");  // other order, other boxes, equal values
    a.set(1);
  });
  EXPECT_TRUE(x == y);
  y.run([&] { a.set(2); });
  EXPECT_TRUE(x != y);
  y.run([&] { a.set(1); });
  EXPECT_TRUE(x == y);
  IntVar same_name("a");
  y.run([&] { same_name.set(1); });  // another variable, even if same name
  EXPECT_TRUE(x != y);
}

TYPED_TEST(ContextVarsTest, EqualityOfValuesWithoutOperatorEqualsIsIdentity) {
  using Impl = TypeParam;
  typename Impl::template Var<Opaque> var("opaque");
  typename Impl::Context x;
  x.run([&] { var.set(Opaque{1}); });
  typename Impl::Context y = x.copy();
  EXPECT_TRUE(x == y);  // the same set()
  typename Impl::Context z;
  z.run([&] { var.set(Opaque{1}); });
  EXPECT_TRUE(x != z);  // equal payloads, but different set()s
  EXPECT_EQ(x.at(var).payload, 1);
}

TYPED_TEST(ContextVarsTest, ScopedSetResetsAtScopeExit) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  {
    auto outer = var.scoped_set(1);
    EXPECT_EQ(var.get(), 1);
    {
      typename Impl::template Token<int> const* token = nullptr;
      auto inner = var.scoped_set(2);
      token = &inner.token();
      EXPECT_EQ(token->old_value(), 1);
      EXPECT_EQ(var.get(), 2);
    }
    EXPECT_EQ(var.get(), 1);
  }
  EXPECT_EQ(var.get(), 0);
  EXPECT_FALSE(Impl::copy_context().contains(var));
}

TYPED_TEST(ContextVarsTest, ThreadsStartWithAnEmptyContext) {
  USE_IMPL_TYPES;
  IntVar var("var", -1);
  var.set(1);
  std::thread([&] {
    EXPECT_EQ(Impl::copy_context().size(), 0u);
    EXPECT_EQ(var.get(), -1);
    var.set(2);
    EXPECT_EQ(var.get(), 2);
  }).join();
  EXPECT_EQ(var.get(), 1);
}

TYPED_TEST(ContextVarsTest, ManyThreadsShareOneVariable) {
  USE_IMPL_TYPES;
  IntVar var("shared", -1);
  StringVar other("other");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (var.get() != (i == 0 ? -1 : t * 10000 + i - 1)) ++failures;
        auto token = var.set(t * 10000 + i);
        if (var.get() != t * 10000 + i) ++failures;
        if (i % 3 == 0) {
          auto scoped = other.scoped_set(std::to_string(i));
          if (other.get() != std::to_string(i)) ++failures;
        }
        if (i % 7 == 0) {
          var.reset(token);
          var.set(t * 10000 + i);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(var.get(), -1);
}

TYPED_TEST(ContextVarsTest, ContextRunInOneThreadAfterAnother) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  Context ctx;
  for (int i = 0; i < 4; ++i) {
    std::thread([&] { ctx.run([&] { var.set(var.get() + 1); }); }).join();
  }
  EXPECT_EQ(ctx.get(var), 4);
}

TYPED_TEST(ContextVarsTest, VariableDestroyedWhileAContextHoldsItsValue) {
  USE_IMPL_TYPES;
  auto var = std::make_unique<StringVar>("short_lived");
  IntVar survivor("survivor");
  Context ctx;
  ctx.run([&] {
    var->set(std::string(100, 'x'));  // heap-allocated, for ASan
    survivor.set(1);
  });
  Context copy = ctx.copy();
  var->set("current");
  var.reset();
  EXPECT_EQ(ctx.size(), 2u);
  std::vector<std::string> names;
  for (auto entry : ctx) {
    names.push_back(entry.name());
    EXPECT_FALSE(entry.holds(survivor) && entry.value(survivor) != 1);
  }
  EXPECT_THAT(names, UnorderedElementsAre("short_lived", "survivor"));
  EXPECT_TRUE(ctx == copy);
  EXPECT_EQ(Impl::copy_context().size(), 1u);
  // A new variable may reuse the address; it is still another variable.
  StringVar reborn("reborn");
  EXPECT_FALSE(ctx.contains(reborn));
  EXPECT_EQ(reborn.get("fallback"), "fallback");
}

TYPED_TEST(ContextVarsTest, GetSeesSetAndReset) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  EXPECT_EQ(var.get(), 0);  // a cached miss
  auto token = var.set(1);
  EXPECT_EQ(var.get(), 1);
  EXPECT_EQ(var.get(), 1);  // hit
  auto token2 = var.set(2);
  EXPECT_EQ(var.get(), 2);
  var.reset(token2);
  EXPECT_EQ(var.get(), 1);
  var.reset(token);
  EXPECT_EQ(var.get(), 0);
}

TYPED_TEST(ContextVarsTest, GetSeesRunAndItsExit) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  var.set(1);
  EXPECT_EQ(var.get(), 1);
  Context ctx;
  ctx.run([&] {
    EXPECT_EQ(var.get(), 0);
    var.set(2);
    EXPECT_EQ(var.get(), 2);
  });
  EXPECT_EQ(var.get(), 1);
  ctx.run([&] { EXPECT_EQ(var.get(), 2); });
  EXPECT_EQ(var.get(), 1);
}

TYPED_TEST(ContextVarsTest, GetSeesSwapCurrentContext) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  var.set(1);
  EXPECT_EQ(var.get(), 1);
  Context slot;
  slot.run([&] { var.set(2); });
  Context fiber_context = slot;
  swap_current_context(slot);  // "resume": slot now holds the caller's
  EXPECT_EQ(var.get(), 2);
  var.set(3);  // goes to fiber_context
  EXPECT_EQ(var.get(), 3);
  EXPECT_EQ(slot.get(var), 1);
  swap_current_context(slot);  // "yield"
  EXPECT_TRUE(slot.is(fiber_context));
  EXPECT_EQ(var.get(), 1);
  EXPECT_EQ(fiber_context.get(var), 3);
}

TYPED_TEST(ContextVarsTest, ContextEnteredInASuspendedFiberStaysEntered) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  Context fiber_slot;  // the fiber's own context
  Context entered;
  swap_current_context(fiber_slot);  // resume the fiber
  entered.run([&] {
    var.set(5);
    swap_current_context(fiber_slot);  // the fiber yields inside run()
    EXPECT_EQ(var.get(), 0);           // the scheduler's context again
    EXPECT_THROW(entered.run([] {}), contextvars::ContextAlreadyEnteredError);
    swap_current_context(fiber_slot);  // resume
    EXPECT_EQ(var.get(), 5);
  });
  swap_current_context(fiber_slot);  // the fiber finishes
  EXPECT_EQ(entered.run([&] { return var.get(); }), 5);
}

TYPED_TEST(ContextVarsTest, GetCacheIsPerThread) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  var.set(1);
  EXPECT_EQ(var.get(), 1);
  std::thread([&] {
    EXPECT_EQ(var.get(), 0);
    var.set(2);
    EXPECT_EQ(var.get(), 2);
  }).join();
  EXPECT_EQ(var.get(), 1);
}

TYPED_TEST(ContextVarsTest, GetSeesSetsMadeInTheContextByAnotherThread) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  Context ctx;
  ctx.run([&] { var.set(1); });
  EXPECT_EQ(ctx.run([&] { return var.get(); }), 1);  // cached in this thread
  std::thread([&] {
    ctx.run([&] {
      EXPECT_EQ(var.get(), 1);
      var.set(2);
    });
  }).join();
  EXPECT_EQ(ctx.run([&] { return var.get(); }), 2);
}

TYPED_TEST(ContextVarsTest, ManyVariablesSharingCacheSlots) {
  USE_IMPL_TYPES;
  // More variables than cache entries, so several share an entry.
  std::vector<std::unique_ptr<IntVar>> vars;
  for (int i = 0; i < 1000; ++i) {
    vars.push_back(std::make_unique<IntVar>("v" + std::to_string(i), -i));
  }
  for (int i = 0; i < 1000; i += 2) vars[i]->set(i);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 1000; ++i) {
      ASSERT_EQ(vars[i]->get(), i % 2 == 0 ? i : -i) << i;
    }
  }
  vars[1]->set(1);  // clears every cache entry filled above
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(vars[i]->get(), i % 2 == 0 || i == 1 ? i : -i) << i;
  }
  vars[1]->set(-1);
  Context ctx = Impl::copy_context();
  EXPECT_EQ(ctx.size(), 501u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(ctx.contains(*vars[i]), i % 2 == 0 || i == 1);
  }
}

// Kept in the get() cache by value (small, trivially copyable) or by pointer.
TYPED_TEST(ContextVarsTest, ValuesOfManyTypes) {
  using Impl = TypeParam;
  typename Impl::template Var<double> real("real", 0.5);
  typename Impl::template Var<const char*> text("text");
  typename Impl::template Var<std::pair<int, int>> pair("pair");
  typename Impl::template Var<std::vector<int>> vector("vector");
  typename Impl::template Var<std::shared_ptr<int>> shared("shared");
  EXPECT_EQ(real.get(), 0.5);
  EXPECT_EQ(text.get(nullptr), nullptr);
  real.set(2.5);
  text.set("hello");
  pair.set({1, 2});
  vector.set({1, 2, 3});
  shared.set(std::make_shared<int>(7));
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(real.get(), 2.5);
    EXPECT_STREQ(text.get(), "hello");
    EXPECT_EQ(pair.get(), std::make_pair(1, 2));
    EXPECT_EQ(vector.get(), (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(*shared.get(), 7);
  }
  typename Impl::Context().run([&] {
    EXPECT_EQ(real.get(), 0.5);
    EXPECT_THROW(pair.get(), contextvars::LookupError);
    EXPECT_TRUE(vector.get({}).empty());
  });
  EXPECT_EQ(pair.get(), std::make_pair(1, 2));
}

TYPED_TEST(ContextVarsTest, WrapRunsInACopyOfTheContextAtWrapTime) {
  USE_IMPL_TYPES;
  IntVar var("var", 0);
  var.set(1);
  auto wrapped = Impl::wrap([&](int add) {
    int seen = var.get();
    var.set(seen + add);
    return seen;
  });
  var.set(2);
  EXPECT_EQ(wrapped(10), 1);
  EXPECT_EQ(wrapped(10), 1);  // each call in a fresh copy
  EXPECT_EQ(var.get(), 2);
  std::thread([&] {
    EXPECT_EQ(wrapped(5), 1);
    EXPECT_EQ(var.get(), 0);
  }).join();
  std::function<int(int)> as_function = wrapped;
  EXPECT_EQ(as_function(1), 1);
}

// ---- User code that re-enters contextvars ----
//
// Hooked runs a hook from its destructor: a value whose destructor sets,
// resets or reads variables, as a tracing span or a metrics guard kept in a
// ContextVar does when it closes. Only the value a set() boxed runs it:
// copies (what get() returns) and moved-from values do not. `live` counts
// the values that still have to run their hook, so a test can tell that
// every value was destroyed (none leaked with its context).
struct Hooked {
  explicit Hooked(std::function<void()> hook_fn, int payload_value = 0)
      : hook(std::move(hook_fn)), payload(payload_value), armed(true) {
    ++live;
  }
  Hooked(const Hooked& other)
      : hook(other.hook), payload(other.payload), armed(false) {}
  Hooked(Hooked&& other) noexcept
      : hook(std::move(other.hook)),
        payload(other.payload),
        armed(std::exchange(other.armed, false)) {}
  Hooked& operator=(const Hooked&) = delete;
  ~Hooked() {
    if (!armed) return;
    --live;
    if (hook) hook();
  }

  static inline std::atomic<int> live{0};
  std::function<void()> hook;
  int payload;
  bool armed;
};

// A value whose operator== runs a hook (e.g. sets a variable).
struct HookedEquality {
  int payload;
  std::function<void()>* hook;
  friend bool operator==(const HookedEquality& a, const HookedEquality& b) {
    if (a.hook != nullptr && *a.hook) (*a.hook)();
    return a.payload == b.payload;
  }
};

// A value whose copy throws (get() copies).
struct ThrowingCopy {
  explicit ThrowingCopy(int value) : payload(value) {}
  ThrowingCopy(const ThrowingCopy& other) : payload(other.payload) {
    if (other.throw_on_copy) throw std::runtime_error("copy of ThrowingCopy");
  }
  ThrowingCopy(ThrowingCopy&& other) noexcept = default;
  int payload;
  bool throw_on_copy = true;
};

template <class Impl>
using ReentrantTest = ContextVarsTest<Impl>;
TYPED_TEST_SUITE(ReentrantTest, Implementations, ImplNames);

#define USE_REENTRANT_TYPES                              \
  USE_IMPL_TYPES;                                        \
  using HookedVar = typename Impl::template Var<Hooked>; \
  (void)sizeof(HookedVar*)

TYPED_TEST(ReentrantTest, ResetErasingAValueWhoseDestructorSetsAVariable) {
  USE_REENTRANT_TYPES;
  HookedVar var("span");
  IntVar other("other");
  IntVar bystander("bystander");
  bystander.set(1);
  bool ran = false;
  typename Impl::template Token<Hooked>* token_seen = nullptr;
  auto token = var.set(Hooked([&] {
    ran = true;
    // The reset has finished: the value is gone, the token used, and get()
    // does not see a stale cache entry.
    EXPECT_FALSE(Impl::copy_context().contains(var));
    EXPECT_TRUE(token_seen->used());
    EXPECT_EQ(var.get(Hooked(nullptr, -1)).payload, -1);
    other.set(7);
    other.set(8);
  }));
  token_seen = &token;
  EXPECT_EQ(var.get().payload, 0);  // fills the get() cache
  var.reset(token);
  EXPECT_TRUE(ran);
  EXPECT_EQ(other.get(), 8);  // the destructor's sets are not lost
  EXPECT_EQ(bystander.get(), 1);
  EXPECT_EQ(Impl::copy_context().size(), 2u);
  EXPECT_FALSE(Impl::copy_context().contains(var));
}

TYPED_TEST(ReentrantTest, ResetRestoringAnOldValueDestroysTheReplacedOneAfter) {
  USE_REENTRANT_TYPES;
  HookedVar var("span");
  IntVar other("other");
  std::vector<std::unique_ptr<IntVar>> many;  // a deeper trie
  for (int i = 0; i < 100; ++i) {
    many.push_back(std::make_unique<IntVar>("v" + std::to_string(i)));
    many.back()->set(i);
  }
  var.set(Hooked(nullptr, 1));
  auto token = var.set(Hooked(
      [&] {
        EXPECT_EQ(var.get().payload, 1);  // already restored
        for (int i = 0; i < 100; ++i) many[i]->set(i + 1000);
        other.set(5);
      },
      2));
  EXPECT_EQ(var.get().payload, 2);
  var.reset(token);
  EXPECT_EQ(var.get().payload, 1);
  EXPECT_EQ(other.get(), 5);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(many[i]->get(), i + 1000);
}

TYPED_TEST(ReentrantTest, DestructorResettingAnotherVariablesToken) {
  USE_REENTRANT_TYPES;
  HookedVar var("span");
  IntVar other("other");
  auto other_token = other.set(3);
  auto token = var.set(Hooked([&] {
    other.reset(other_token);
    EXPECT_THROW(other.reset(other_token), contextvars::TokenUsedError);
  }));
  var.reset(token);
  EXPECT_TRUE(other_token.used());
  EXPECT_EQ(Impl::copy_context().size(), 0u);
}

TYPED_TEST(ReentrantTest, DestructorResettingTheTokenBeingReset) {
  USE_REENTRANT_TYPES;
  HookedVar var("span");
  typename Impl::template Token<Hooked>* token_seen = nullptr;
  auto token = var.set(Hooked([&] {
    EXPECT_THROW(var.reset(*token_seen), contextvars::TokenUsedError);
  }));
  token_seen = &token;
  var.reset(token);
  EXPECT_FALSE(Impl::copy_context().contains(var));
}

TYPED_TEST(ReentrantTest, ScopedSetOfAValueWhoseDestructorSets) {
  USE_REENTRANT_TYPES;
  HookedVar var("span");
  IntVar depth("depth", 0);
  {
    auto scoped = var.scoped_set(Hooked([&] { depth.set(depth.get() + 1); }));
    auto inner = var.scoped_set(Hooked([&] { depth.set(depth.get() + 10); }));
  }
  EXPECT_EQ(depth.get(), 11);
  EXPECT_FALSE(Impl::copy_context().contains(var));
}

TYPED_TEST(ReentrantTest, SetOfAnEqualValueWhoseOperatorEqualsSets) {
  using Impl = TypeParam;
  typename Impl::template Var<HookedEquality> var("eq");
  typename Impl::template Var<int> other("other");
  std::vector<std::unique_ptr<typename Impl::template Var<int>>> many;
  int calls = 0;
  std::function<void()> hook = [&] {
    ++calls;
    for (auto& v : many) v->set(calls);
    other.set(calls);
  };
  for (int i = 0; i < 40; ++i) {
    many.push_back(std::make_unique<typename Impl::template Var<int>>(
        "m" + std::to_string(i)));
  }
  var.set(HookedEquality{1, &hook});
  var.set(HookedEquality{1, &hook});  // may compare the values, or not
  var.set(HookedEquality{2, &hook});
  EXPECT_EQ(var.get().payload, 2);
  EXPECT_EQ(other.get(-1), calls == 0 ? -1 : calls);
  EXPECT_EQ(Impl::copy_context().size(), calls == 0 ? 1u : 42u);
}

TYPED_TEST(ReentrantTest, EqualityWhoseOperatorEqualsSetsInTheComparedContext) {
  using Impl = TypeParam;
  using Context = typename Impl::Context;
  typename Impl::template Var<HookedEquality> var("eq");
  std::vector<std::unique_ptr<typename Impl::template Var<int>>> many;
  for (int i = 0; i < 200; ++i) {
    many.push_back(std::make_unique<typename Impl::template Var<int>>(
        "m" + std::to_string(i)));
  }
  int calls = 0;
  std::function<void()> hook = [&] {
    ++calls;
    for (auto& v : many) v->set(calls * 1000);  // edits the current context
  };
  Context current;
  Context other;
  other.run([&] {
    for (int i = 0; i < 200; ++i) many[i]->set(i);
    var.set(HookedEquality{1, &hook});
  });
  current.run([&] {
    for (int i = 0; i < 200; ++i) many[i]->set(i);
    var.set(HookedEquality{1, &hook});  // an equal value, another box
    // == compares the contents at the call; the sets made by operator==
    // land in `current` afterwards.
    EXPECT_TRUE(current == other);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(many[0]->get(), 1000);
    EXPECT_TRUE(current != other);  // may run operator== again, or not
  });
  EXPECT_EQ(current.get(*many[199]), calls * 1000);
  EXPECT_EQ(other.get(*many[199]), 199);
}

TYPED_TEST(ReentrantTest, IteratingTheCurrentContextWhileSetting) {
  USE_IMPL_TYPES;
  std::vector<std::unique_ptr<IntVar>> vars;
  for (int i = 0; i < 100; ++i) {
    vars.push_back(std::make_unique<IntVar>("v" + std::to_string(i)));
  }
  Context ctx;
  ctx.run([&] {
    std::vector<typename Impl::template Token<int>> tokens;
    for (int i = 0; i < 100; ++i) tokens.push_back(vars[i]->set(i));
    int seen = 0;
    // Iterators see the contents at begin(); sets and resets in the
    // iterated context do not invalidate them.
    for (auto it = ctx.begin(); it != ctx.end(); ++it) {
      for (int i = 0; i < 100; ++i) {
        if (it->holds(*vars[i])) {
          EXPECT_EQ(it->value(*vars[i]), i);
          vars[i]->reset(tokens[i]);
          vars[(i + 1) % 100]->set(-1);
        }
      }
      ++seen;
    }
    EXPECT_EQ(seen, 100);
  });
  // Each variable was reset, then set to -1 if its predecessor came later.
  for (auto entry : ctx) {
    for (auto& var : vars) {
      if (entry.holds(*var)) {
        EXPECT_EQ(entry.value(*var), -1);
      }
    }
  }
}

TYPED_TEST(ReentrantTest, DestroyingAContextRunsDestructorsThatSet) {
  USE_REENTRANT_TYPES;
  HookedVar var("span");
  IntVar other("other", 0);
  const int live_before = Hooked::live.load();
  auto ctx = std::make_unique<Context>();
  ctx->run([&] { var.set(Hooked([&] { other.set(other.get() + 1); })); });
  Context copy = ctx->copy();  // shares the value
  ctx.reset();
  EXPECT_EQ(other.get(), 0);
  copy = Context();  // the last holder: the destructor sets in the current
  EXPECT_EQ(other.get(), 1);
  EXPECT_EQ(Hooked::live.load(), live_before);
}

TYPED_TEST(ReentrantTest, LastHandleDroppedInsideRun) {
  USE_REENTRANT_TYPES;
  HookedVar var("span");
  IntVar where("where", 0);
  where.set(1);
  auto ctx = std::make_unique<Context>();
  ctx->run([&] {
    where.set(2);
    var.set(Hooked([&] { where.set(where.get() * 10); }));
    ctx.reset();  // run() holds the context until it returns
    EXPECT_EQ(where.get(), 2);
  });
  // Destroyed when run() restored the caller's context, so the destructor
  // saw and changed that one.
  EXPECT_EQ(where.get(), 10);
}

TYPED_TEST(ReentrantTest, WrapDestroysTheCallsCopyAfterTheCall) {
  USE_REENTRANT_TYPES;
  HookedVar var("span");
  IntVar calls("calls", 0);
  auto wrapped =
      Impl::wrap([&] { var.set(Hooked([&] { calls.set(calls.get() + 1); })); });
  wrapped();
  wrapped();
  EXPECT_EQ(calls.get(), 2);  // in the caller's context, after each call
  EXPECT_FALSE(Impl::copy_context().contains(var));
}

TYPED_TEST(ReentrantTest, TokenAssignmentDropsTheOldValueAfterwards) {
  USE_REENTRANT_TYPES;
  HookedVar var("span");
  using HookedToken = typename Impl::template Token<Hooked>;
  std::optional<HookedToken> token;
  bool ran = false;
  const int live_before = Hooked::live.load();
  {
    Context ctx;
    ctx.run([&] {
      var.set(Hooked([&] {
        ran = true;
        // The assignment has finished: the token is the new one.
        EXPECT_FALSE(token->used());
        EXPECT_EQ(token->old_value()->payload, 5);
      }));
      token.emplace(var.set(Hooked(nullptr, 4)));  // old value: the hooked
      var.reset(*token);                           // used, still holds it
      var.set(Hooked(nullptr, 5));
    });
    // Only the token keeps the hooked value now.
    ctx.run([&] { *token = var.set(Hooked(nullptr, 6)); });
    EXPECT_TRUE(ran);
  }
  token.reset();
  EXPECT_EQ(Hooked::live.load(), live_before);
}

TYPED_TEST(ReentrantTest, ThrowingCopyInGetChangesNothing) {
  using Impl = TypeParam;
  typename Impl::template Var<ThrowingCopy> var("throwing");
  var.set(ThrowingCopy(3));
  EXPECT_THROW(var.get(), std::runtime_error);
  EXPECT_THROW(var.get(), std::runtime_error);  // also from the cache
  EXPECT_THROW(Impl::copy_context().get(var), std::runtime_error);
  EXPECT_EQ(Impl::copy_context().at(var).payload, 3);
  EXPECT_EQ(Impl::copy_context().size(), 1u);
}

// copy(), copy_context(), swap_current_context(), iteration and handle
// copies run no user code: no value is copied (the copy would throw),
// destroyed (no hook runs) or compared.
TYPED_TEST(ReentrantTest, CopiesSwapsAndIterationRunNoUserCode) {
  USE_REENTRANT_TYPES;
  typename Impl::template Var<ThrowingCopy> throwing("throwing");
  HookedVar hooked("hooked");
  int hooks = 0;
  throwing.set(ThrowingCopy(1));
  auto token = hooked.set(Hooked([&] { ++hooks; }));
  Context copy = Impl::copy_context();
  Context copy_of_copy = copy.copy();
  Context handle = copy_of_copy;
  Context slot = copy;
  swap_current_context(slot);
  swap_current_context(slot);
  size_t entries = 0;
  for (auto entry : handle) {
    entries += entry.holds(throwing) || entry.holds(hooked) ? 1 : 0;
  }
  Impl::wrap([] {})();
  EXPECT_EQ(entries, 2u);
  EXPECT_EQ(hooks, 0);
  EXPECT_TRUE(copy.is(slot));
  hooked.reset(token);  // the copies still hold the value
  EXPECT_EQ(hooks, 0);
  slot = handle = copy_of_copy = copy = Context();
  EXPECT_EQ(hooks, 1);
}

// A thread ends with values whose destructors set and read variables: they
// land in a fresh context of the dying thread, which is drained and freed in
// turn (LeakSanitizer checks that nothing leaks; `live` that every value was
// destroyed).
TYPED_TEST(ReentrantTest, ThreadExitWithValuesWhoseDestructorsSet) {
  USE_REENTRANT_TYPES;
  HookedVar first("first");
  HookedVar second("second");
  IntVar counter("counter", 0);
  std::atomic<int> destroyed{0};
  const int live_before = Hooked::live.load();
  std::thread([&] {
    first.set(Hooked([&] {
      ++destroyed;
      EXPECT_EQ(counter.get(), 0);  // a fresh context: the default
      EXPECT_FALSE(Impl::copy_context().contains(first));
      counter.set(1);
      second.set(Hooked([&] {
        ++destroyed;
        EXPECT_EQ(counter.get(), 0);  // yet another fresh context
        second.set(Hooked([&] { ++destroyed; }));
      }));
    }));
  }).join();
  EXPECT_EQ(destroyed.load(), 3);
  EXPECT_EQ(Hooked::live.load(), live_before);
}

// The same on several threads at once (for ThreadSanitizer): each thread sets
// and resets values whose destructors set variables, runs a shared context
// one thread after another, and exits with such values in its context.
TYPED_TEST(ReentrantTest, ReentrantDestructorsOnManyThreads) {
  USE_REENTRANT_TYPES;
  HookedVar var("span");
  IntVar counter("counter", 0);
  std::atomic<int> hooks{0};
  Context shared;
  std::mutex shared_mutex;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto token = var.set(Hooked([&] {
          ++hooks;
          counter.set(counter.get() + 1);
        }));
        var.reset(token);
        if (i % 50 == 0) {
          std::lock_guard<std::mutex> lock(shared_mutex);
          shared.run([&] {
            var.set(Hooked([&] {
              ++hooks;
              counter.set(counter.get() + 1);
            }));
          });
        }
      }
      EXPECT_EQ(counter.get(), 200);
      var.set(Hooked([&] {
        ++hooks;
        counter.set(-1);
      }));
    });
  }
  for (auto& thread : threads) thread.join();
  // 800 resets, 15 replaced in `shared`, 4 at thread exit.
  EXPECT_EQ(hooks.load(), 800 + 15 + 4);
  EXPECT_EQ(shared.get(counter), 15);
}

}  // namespace
