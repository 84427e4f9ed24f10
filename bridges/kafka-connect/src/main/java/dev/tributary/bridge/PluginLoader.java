package dev.tributary.bridge;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One connector's class loader, isolated as Kafka Connect's {@code PluginClassLoader} isolates
 * plugins: child-first over every jar under the connector's directory, except the classes the
 * bridge and the connector must share (the JDK, SLF4J and the Kafka Connect / Kafka clients API),
 * which always come from the bridge. Kafka's own bundled plugins (connect-file, connect-mirror,
 * transforms, converters) are loaded in isolation, as Kafka Connect does.
 */
final class PluginLoader extends URLClassLoader {
  static {
    registerAsParallelCapable();
  }

  // The packages shared with the bridge (Kafka Connect's PluginUtils EXCLUDE, in short).
  private static final Pattern SHARED = Pattern.compile(
      "^(?:java|javax\\.(?:annotation|crypto|management|naming|net|security|sql|xml|script|transaction|rmi|tools)"
          + "|jdk|sun|com\\.sun|org\\.w3c\\.dom|org\\.xml\\.sax|org\\.ietf\\.jgss|org\\.apache\\.kafka|org\\.slf4j)\\..*$");
  // ...but Kafka's own plugins are isolated like any other (Kafka Connect's PluginUtils INCLUDE).
  private static final Pattern ISOLATED_KAFKA = Pattern.compile("^org\\.apache\\.kafka\\.(?:connect\\.(?:"
      + "transforms\\.(?!Transformation$|predicates\\.Predicate$).*"
      + "|json\\..*|file\\..*|mirror\\..*|mirror-client\\..*|converters\\..*"
      + "|storage\\.StringConverter|storage\\.SimpleHeaderConverter)"
      + "|common\\.config\\.provider\\.(?!ConfigProvider$).*)$");

  private final Path location;

  private PluginLoader(Path location, URL[] urls, ClassLoader parent) {
    super("tributary-plugin:" + location.getFileName(), urls, parent);
    this.location = location;
  }

  /** Whether a class of this name comes from the connector's own jars first. */
  static boolean loadsInIsolation(String name) {
    return !SHARED.matcher(name).matches() || ISOLATED_KAFKA.matcher(name).matches();
  }

  /** A loader over every .jar/.zip under {@code dir} (recursively, as Kafka Connect's plugin.path), or its class files. */
  static PluginLoader forDirectory(Path dir, ClassLoader parent) {
    if (!Files.isDirectory(dir)) throw new IllegalArgumentException("plugin directory " + dir + " does not exist or is not a directory");
    List<URL> urls = new ArrayList<>();
    boolean classFiles;
    try (Stream<Path> walk = Files.walk(dir)) {
      List<Path> all = walk.filter(Files::isRegularFile).sorted().toList();
      for (Path p : all) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".jar") || n.endsWith(".zip")) urls.add(p.toUri().toURL());
      }
      classFiles = all.stream().anyMatch(p -> p.getFileName().toString().endsWith(".class"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list plugin directory " + dir, e);
    }
    if (urls.isEmpty() && classFiles) {
      try {
        urls.add(dir.toUri().toURL());
      } catch (MalformedURLException e) {
        throw new IllegalArgumentException(e);
      }
    }
    if (urls.isEmpty()) throw new IllegalArgumentException("plugin directory " + dir + " holds no .jar, .zip or .class files");
    return new PluginLoader(dir, urls.toArray(new URL[0]), parent);
  }

  Path location() {
    return location;
  }

  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    if (!loadsInIsolation(name)) return super.loadClass(name, resolve);
    synchronized (getClassLoadingLock(name)) {
      Class<?> klass = findLoadedClass(name);
      if (klass == null) {
        try {
          klass = findClass(name);
        } catch (ClassNotFoundException e) {
          klass = super.loadClass(name, false);
        }
      }
      if (resolve) resolveClass(klass);
      return klass;
    }
  }

  @Override
  public URL getResource(String name) {
    URL url = findResource(name);
    return url != null ? url : super.getResource(name);
  }

  @Override
  public Enumeration<URL> getResources(String name) throws IOException {
    // Own resources first (ServiceLoader manifests of the connector's jars), then the bridge's.
    List<URL> out = new ArrayList<>();
    Enumeration<URL> own = findResources(name);
    while (own.hasMoreElements()) out.add(own.nextElement());
    ClassLoader parent = getParent();
    if (parent != null) {
      Enumeration<URL> up = parent.getResources(name);
      while (up.hasMoreElements()) {
        URL u = up.nextElement();
        if (!out.contains(u)) out.add(u);
      }
    }
    return java.util.Collections.enumeration(out);
  }
}
