package dev.argon.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.util.ForLoop;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Resolves what Python offers and Jinjava lacks: {@code str} methods ({@code .strip()},
 * {@code .startswith()}, {@code .split()}, {@code .upper()}, {@code .format()} ...), indexing a
 * string ({@code s[-1]}) or a (key, value) pair ({@code item[0]}), and
 * {@code loop.previtem}/{@code loop.nextitem}. Everything else falls through
 * to Jinjava's own resolvers.
 */
final class PyMethods extends ELResolver {

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (base instanceof String s && index(property) != null) {
            context.setPropertyResolved(true);
            return Py.charAt(s, index(property));
        }
        Long at = index(property);
        if (base instanceof java.util.Map.Entry<?, ?> e && at != null && at >= -2 && at <= 1) {
            context.setPropertyResolved(true); // a (key, value) pair, indexed like Python's tuple
            Object v = at == 0 || at == -2 ? e.getKey() : e.getValue();
            return JinjavaInterpreter.getCurrentMaybe().map(in -> in.wrap(v)).orElse(v);
        }
        if (base instanceof ForLoop loop && ("previtem".equals(property) || "nextitem".equals(property))) {
            context.setPropertyResolved(true);
            List<Object> items = LoopItems.of(loop);
            int pos = loop.getIndex0() + ("previtem".equals(property) ? -1 : 1);
            if (items == null || pos < 0 || pos >= items.size()) {
                return null;
            }
            return JinjavaInterpreter.getCurrentMaybe().map(i -> i.wrap(items.get(pos))).orElse(items.get(pos));
        }
        return null;
    }

    /** @return an integer subscript (Jinjava passes it as text), or null */
    private static Long index(Object property) {
        if (property instanceof Long || property instanceof Integer) {
            return ((Number) property).longValue();
        }
        if (property instanceof String p && p.matches("-?\\d{1,9}")) {
            return Long.parseLong(p);
        }
        return null;
    }

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || !(method instanceof String name)) {
            return null;
        }
        Object[] p = params == null ? new Object[0] : params;
        Object result = call(s, name, p);
        if (result != NOT_HANDLED) {
            context.setPropertyResolved(true);
            return result;
        }
        return null;
    }

    private static final Object NOT_HANDLED = new Object();

    private static Object call(String s, String name, Object[] p) {
        return switch (name) {
            case "strip" -> Py.strip(s, str(p, 0));
            case "lstrip" -> Py.lstrip(s, str(p, 0));
            case "rstrip" -> Py.rstrip(s, str(p, 0));
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> Py.title(s);
            case "capitalize" -> Py.capitalize(s);
            case "startswith" -> Py.matchesAny(arg(p, 0), s::startsWith);
            case "endswith" -> Py.matchesAny(arg(p, 0), s::endsWith);
            case "split" -> Py.split(s, str(p, 0), (int) num(p, 1, -1));
            case "rsplit" -> Py.rsplit(s, str(p, 0), (int) num(p, 1, -1));
            case "splitlines" -> Py.splitLines(s);
            case "replace" -> Py.replace(s, String.valueOf(arg(p, 0)), String.valueOf(arg(p, 1)), num(p, 2, -1));
            case "find" -> (long) s.indexOf(String.valueOf(arg(p, 0)));
            case "rfind" -> (long) s.lastIndexOf(String.valueOf(arg(p, 0)));
            case "count" -> Py.count(s, String.valueOf(arg(p, 0)));
            case "join" -> Py.join(s, arg(p, 0));
            case "format" -> Py.format(s, p);
            case "removeprefix" -> s.startsWith(String.valueOf(arg(p, 0))) ? s.substring(String.valueOf(arg(p, 0)).length()) : s;
            case "removesuffix" -> s.endsWith(String.valueOf(arg(p, 0)))
                    ? s.substring(0, s.length() - String.valueOf(arg(p, 0)).length()) : s;
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(c -> Py.isSpace((char) c));
            case "isupper" -> s.chars().anyMatch(Character::isUpperCase) && s.chars().noneMatch(Character::isLowerCase);
            case "islower" -> s.chars().anyMatch(Character::isLowerCase) && s.chars().noneMatch(Character::isUpperCase);
            default -> NOT_HANDLED;
        };
    }

    private static Object arg(Object[] p, int i) {
        return i < p.length ? p[i] : null;
    }

    private static String str(Object[] p, int i) {
        Object o = arg(p, i);
        return o == null ? null : o.toString();
    }

    private static long num(Object[] p, int i, long def) {
        return arg(p, i) instanceof Number n ? n.longValue() : def;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // read-only: assignment is left to Jinjava's resolvers
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return false;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
