<%@ page contentType="text/plain; charset=UTF-8" import="java.util.*" %><%--
  A page with the shape of an application's: build n order records, sort them, render them as
  JSON. Interpreted, each request costs milliseconds; once the JIT has compiled the hot paths, tens
  of microseconds. The answer is the JSON's length and hash, the same on every run.
--%><%
  int n = 200;
  String asked = request.getParameter("n");
  if (asked != null) n = Math.max(1, Math.min(10000, Integer.parseInt(asked)));
  List<String> rows = new ArrayList<>(n);
  for (int i = 0; i < n; i++) {
    rows.add(String.format(Locale.ROOT, "{\"id\":%d,\"customer\":\"c%05d\",\"total\":%.2f}",
        i, (i * 7919) % 100000, (i * 31 % 1000) / 3.0));
  }
  Collections.sort(rows);
  StringBuilder json = new StringBuilder(n * 48).append('[');
  for (String row : rows) json.append(row).append(',');
  json.append(']');
  out.print(json.length() + " " + Integer.toHexString(json.toString().hashCode()));
%>
