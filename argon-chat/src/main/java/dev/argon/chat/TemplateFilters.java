package dev.argon.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.util.ObjectTruthValue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The filters Argon replaces or adds: Hugging Face's {@code tojson}, Python's {@code trim}, stepped
 * slices, Jinja2's {@code items}, {@code min}, {@code max} and {@code dictsort} (which Jinjava lacks
 * or reads differently); and the tests
 * whose Jinjava versions disagree with Python's.
 */
final class TemplateFilters {
    private TemplateFilters() {
    }

    /** @return the tests to register: Python's {@code iterable}, {@code sequence} (true for strings and dicts) and {@code number} (true for booleans) */
    static List<ExpTest> tests() {
        return List.of(
                test("iterable", v -> v instanceof Iterable<?> || v instanceof Map<?, ?> || isString(v) || v instanceof Object[]),
                test("sequence", v -> v instanceof java.util.Collection<?> || v instanceof Map<?, ?> || isString(v) || v instanceof Object[]),
                test("number", v -> v instanceof Number || v instanceof Boolean));
    }

    private static boolean isString(Object v) {
        return v instanceof CharSequence || v instanceof com.hubspot.jinjava.objects.SafeString;
    }

    private static ExpTest test(String name, java.util.function.Predicate<Object> p) {
        return new ExpTest() {
            @Override
            public String getName() {
                return name;
            }

            @Override
            public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
                return p.test(var);
            }
        };
    }

    /** @return the filters to register */
    static List<Filter> all() {
        return List.of(new ToJson(), new Trim(), new Slice(), new Items(), new MinMax("min"), new MinMax("max"), new DictSort(), new Str(),
                new BoundedWidth(new com.hubspot.jinjava.lib.filter.CenterFilter()),
                new BoundedWidth(new com.hubspot.jinjava.lib.filter.IndentFilter()));
    }

    /**
     * Jinjava's {@code center(width)} and {@code indent(width)} with the width held to
     * {@link #MAX_WIDTH}: a width of two billion would build the whole string before any output
     * limit applies.
     */
    static final class BoundedWidth implements Filter {
        /** The widest {@code center} or {@code indent} a template may ask for. */
        static final int MAX_WIDTH = 4096;
        private final Filter filter;

        BoundedWidth(Filter filter) {
            this.filter = filter;
        }

        @Override
        public String getName() {
            return filter.getName();
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (args.length > 0 && args[0] != null) {
                double width;
                try {
                    width = Double.parseDouble(args[0].strip());
                } catch (NumberFormatException e) {
                    width = 0; // not a number: the filter itself says what is wrong
                }
                if (Math.abs(width) > MAX_WIDTH) {
                    throw TemplateFunctions.stop(getName() + "(" + args[0].strip() + "): the width is above the " + MAX_WIDTH
                            + " a chat template may use", interpreter.getLineNumber());
                }
            }
            return filter.filter(var, interpreter, args);
        }
    }

    private static Object arg(Object[] args, Map<String, Object> kwargs, int position, String name) {
        if (kwargs != null && kwargs.containsKey(name)) {
            return kwargs.get(name);
        }
        return args != null && position < args.length ? args[position] : null;
    }

    /**
     * {@code tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}: Hugging
     * Face's filter, which is {@code json.dumps} with non-ASCII text kept as it is.
     */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            PyJson.Options o = PyJson.Options.huggingFace();
            Object ensureAscii = arg(args, kwargs, 0, "ensure_ascii");
            if (ensureAscii != null) {
                o = o.withEnsureAscii(ObjectTruthValue.evaluate(ensureAscii));
            }
            o = o.withIndent(arg(args, kwargs, 1, "indent"));
            if (arg(args, kwargs, 2, "separators") instanceof List<?> seps && seps.size() == 2) {
                o = o.withSeparators(String.valueOf(seps.get(0)), String.valueOf(seps.get(1)));
            }
            Object sort = arg(args, kwargs, 3, "sort_keys");
            o = o.withSortKeys(sort != null && ObjectTruthValue.evaluate(sort));
            return PyJson.dumps(var, o);
        }
    }

    /** {@code trim(value, chars=None)}: Python's {@code str.strip}. */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object chars = arg(args, kwargs, 0, "chars");
            return Py.strip(var == null ? "None" : var.toString(), chars == null ? null : chars.toString());
        }
    }

    /** {@code __pyslice(start, stop, step)}: what {@code x[start:stop:step]} is rewritten to. */
    static final class Slice implements Filter {
        @Override
        public String getName() {
            return "__pyslice";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            return Py.slice(var, index(args, 0), index(args, 1), index(args, 2));
        }

        private static Long index(Object[] args, int i) {
            return args != null && i < args.length && args[i] instanceof Number n ? n.longValue() : null;
        }
    }

    /** {@code items(mapping)}: the (key, value) pairs, as two-element lists. */
    static final class Items implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            List<Object> pairs = new ArrayList<>();
            if (var instanceof Map<?, ?> m) {
                m.forEach((k, v) -> pairs.add(new ArrayList<>(java.util.Arrays.asList(k, v))));
            } else if (var != null) {
                throw new dev.argon.ArgonException("items: expected a mapping, found " + var.getClass().getSimpleName());
            }
            return pairs;
        }
    }

    /** {@code min(value, case_sensitive=False, attribute=None)} and {@code max(...)}. */
    static final class MinMax implements Filter {
        private final String name;

        MinMax(String name) {
            this.name = name;
        }

        @Override
        public String getName() {
            return name;
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object cs = arg(args, kwargs, 0, "case_sensitive");
            boolean caseSensitive = cs != null && ObjectTruthValue.evaluate(cs);
            Object attribute = arg(args, kwargs, 1, "attribute");
            List<Object> items = new ArrayList<>();
            Py.iterate(var).forEach(items::add);
            if (items.isEmpty()) {
                return null; // Jinja2 returns Undefined for an empty sequence
            }
            Comparator<Object> order = (a, b) -> compare(key(a, attribute, caseSensitive), key(b, attribute, caseSensitive));
            return "min".equals(name) ? items.stream().min(order).orElseThrow() : items.stream().max(order).orElseThrow();
        }

        private static Object key(Object item, Object attribute, boolean caseSensitive) {
            Object v = attribute != null && item instanceof Map<?, ?> m ? m.get(attribute.toString()) : item;
            return !caseSensitive && v instanceof String s ? s.toLowerCase(Locale.ROOT) : v;
        }

        @SuppressWarnings({"unchecked", "rawtypes"})
        private static int compare(Object a, Object b) {
            if (a instanceof Number x && b instanceof Number y) {
                return Double.compare(x.doubleValue(), y.doubleValue());
            }
            if (a instanceof Comparable ca && b != null && a.getClass() == b.getClass()) {
                return ca.compareTo(b);
            }
            throw new dev.argon.ArgonException("min/max: cannot compare "
                    + (a == null ? "None" : a.getClass().getSimpleName()) + " with " + (b == null ? "None" : b.getClass().getSimpleName()));
        }
    }

    /** {@code __pystr}: what every {@code {{ ... }}} is wrapped in, so values print as Python's {@code str()} (True, [1, 'a']). */
    static final class Str implements Filter {
        @Override
        public String getName() {
            return "__pystr";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return Py.str(var);
        }
    }

    /** {@code dictsort(value, case_sensitive=False, by='key', reverse=False)}: the (key, value) pairs, sorted. */
    static final class DictSort implements Filter {
        @Override
        public String getName() {
            return "dictsort";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            if (!(var instanceof Map<?, ?> m)) {
                throw new dev.argon.ArgonException("dictsort: expected a mapping");
            }
            Object cs = arg(args, kwargs, 0, "case_sensitive");
            boolean caseSensitive = cs != null && ObjectTruthValue.evaluate(cs);
            boolean byValue = "value".equals(String.valueOf(arg(args, kwargs, 1, "by")));
            Object rev = arg(args, kwargs, 2, "reverse");
            List<Map.Entry<?, ?>> pairs = new ArrayList<>(m.entrySet());
            Comparator<Map.Entry<?, ?>> order = (a, b) -> MinMax.compare(
                    MinMax.key(byValue ? a.getValue() : a.getKey(), null, caseSensitive),
                    MinMax.key(byValue ? b.getValue() : b.getKey(), null, caseSensitive));
            pairs.sort(rev != null && ObjectTruthValue.evaluate(rev) ? order.reversed() : order);
            return pairs;
        }
    }
}
