package dev.argon.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateSyntaxException;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.parse.TagToken;
import com.hubspot.jinjava.util.ForLoop;
import com.hubspot.jinjava.util.ObjectIterator;
import com.hubspot.jinjava.util.ObjectTruthValue;

import java.util.ArrayList;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Jinjava's {@code for} with Python's loop filter ({@code {% for m in messages if m.role != 'system' %}},
 * which also counts for {@code loop.index}/{@code loop.last}), its {@code {% else %}} part, and the
 * items kept for {@code loop.previtem}/{@code loop.nextitem}.
 */
final class PyForTag extends ForTag {
    private static final Pattern IN = Pattern.compile("\\s+in\\s+");
    private static final Pattern IF = Pattern.compile("\\sif\\s");

    @Override
    public String interpretUnchecked(TagNode tagNode, JinjavaInterpreter interpreter) {
        String helpers = tagNode.getHelpers();
        Matcher in = IN.matcher(helpers);
        if (!in.find()) {
            throw new TemplateSyntaxException(helpers.trim(), "Tag 'for' expects valid 'in' clause, got: " + helpers,
                    tagNode.getLineNumber(), tagNode.getStartPosition());
        }
        String target = helpers.substring(0, in.start()).strip();
        if (target.startsWith("(") && target.endsWith(")")) {
            target = target.substring(1, target.length() - 1);
        }
        List<String> vars = new ArrayList<>();
        for (String v : target.split(",")) {
            if (!v.isBlank()) {
                vars.add(v.strip());
            }
        }
        String rest = helpers.substring(in.end());
        int ifAt = topLevelIf(rest);
        String iterable = ifAt < 0 ? rest : rest.substring(0, ifAt);
        String condition = ifAt < 0 ? null : rest.substring(ifAt + 3).strip();
        if (iterable.strip().endsWith(" recursive") || (condition != null && condition.endsWith(" recursive"))) {
            throw new TemplateSyntaxException(helpers.trim(), "recursive for loops are not supported", tagNode.getLineNumber(),
                    tagNode.getStartPosition());
        }
        Object collection = interpreter.resolveELExpression(iterable.strip(), tagNode.getLineNumber());
        List<Object> items = new ArrayList<>();
        ForLoop it = ObjectIterator.getLoop(collection);
        int line = tagNode.getLineNumber();
        while (it.hasNext()) {
            TemplateFunctions.checkTime(line);
            Object item = it.next();
            if (condition == null || accepts(interpreter, vars, item, condition, tagNode.getLineNumber())) {
                items.add(item);
            }
        }
        // {% for %}...{% else %}...{% endfor %}: the else part renders when nothing was iterated
        List<Node> body = new ArrayList<>();
        List<Node> otherwise = null;
        for (Node child : tagNode.getChildren()) {
            if (otherwise == null && child instanceof TagNode t && "else".equals(t.getName())) {
                otherwise = new ArrayList<>();
            } else {
                (otherwise == null ? body : otherwise).add(child);
            }
        }
        if (items.isEmpty() && otherwise != null) {
            StringBuilder sb = new StringBuilder();
            for (Node n : otherwise) {
                sb.append(n.render(interpreter).getValue());
            }
            return sb.toString();
        }
        TagNode loopNode = tagNode;
        if (otherwise != null) {
            loopNode = new TagNode(this, (TagToken) tagNode.getMaster(), tagNode.getSymbols());
            loopNode.setChildren(new LinkedList<>(body));
        }
        LoopItems.push(items);
        try {
            return renderForCollection(loopNode, interpreter, vars, timed(items, line));
        } finally {
            LoopItems.pop();
        }
    }

    /** @return the items as a list that checks the render's time budget at every item */
    private static List<Object> timed(List<Object> items, int line) {
        return new java.util.AbstractList<>() {
            @Override
            public Object get(int index) {
                TemplateFunctions.checkTime(line);
                return items.get(index);
            }

            @Override
            public int size() {
                return items.size();
            }
        };
    }

    private static boolean accepts(JinjavaInterpreter interpreter, List<String> vars, Object item, String condition, int line) {
        try (JinjavaInterpreter.InterpreterScopeClosable scope = interpreter.enterScope()) {
            Object value = interpreter.wrap(item);
            for (int k = 0; k < vars.size(); k++) {
                Object v = value;
                if (vars.size() > 1) {
                    if (value instanceof Map.Entry<?, ?> e) {
                        v = k == 0 ? e.getKey() : k == 1 ? e.getValue() : null;
                    } else if (value instanceof List<?> l) {
                        v = k < l.size() ? l.get(k) : null;
                    } else {
                        v = null;
                    }
                }
                interpreter.getContext().put(vars.get(k), v);
            }
            return ObjectTruthValue.evaluate(interpreter.resolveELExpression(condition, line));
        }
    }

    /** @return where the loop filter's {@code if} starts (outside brackets and string literals), or -1 */
    private static int topLevelIf(String s) {
        int depth = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == '\'' || c == '"') {
                int j = i + 1;
                while (j < s.length() && s.charAt(j) != c) {
                    j += s.charAt(j) == '\\' ? 2 : 1;
                }
                i = j;
            } else if (depth == 0 && Character.isWhitespace(c) && IF.matcher(s).region(i, s.length()).lookingAt()) {
                return i;
            }
        }
        return -1;
    }
}
