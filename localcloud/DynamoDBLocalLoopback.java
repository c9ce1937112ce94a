// Starts DynamoDB Local with its Jetty connector bound to 127.0.0.1 only.
//
// DynamoDBLocal.jar has no bind-address flag: its DynamoDBProxyServer builds `new Server(port)`,
// whose connector listens on every interface. We build the server through DynamoDB Local's own
// ServerRunner (same options, same handlers), then set host and port on the connector before
// Jetty opens the socket. Run with the JDK's single-file source launcher:
//
//   java -Djava.library.path=<lib> -cp <jar>:<lib>/* DynamoDBLocalLoopback.java PORT [options...]
//
// PORT may be 0 (the kernel picks a free port: no race between choosing and binding). Once the
// socket is open it prints "READY 127.0.0.1:<port>" on stdout. It exits when its standard input
// reaches end of file, so the JVM never outlives the process that started it.
import java.lang.reflect.Field;
import java.util.Arrays;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class DynamoDBLocalLoopback {
    static final String HOST = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String[] options = Arrays.copyOfRange(args, 1, args.length);
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(options);

        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        Connector[] connectors = server.getConnectors();
        if (connectors.length != 1 || !(connectors[0] instanceof ServerConnector)) {
            throw new IllegalStateException("unexpected Jetty connectors: " + Arrays.toString(connectors));
        }
        ServerConnector connector = (ServerConnector) connectors[0];
        connector.setHost(HOST);
        connector.setPort(port);

        // safeStart() throws when the port cannot be bound (start() would only print and stop).
        proxy.safeStart();
        System.out.println("READY " + HOST + ":" + connector.getLocalPort());
        System.out.flush();

        Thread watchdog = new Thread(() -> {
            try {
                while (System.in.read() != -1) {
                    // Input is ignored; only end of file (the parent went away) matters.
                }
            } catch (java.io.IOException ignored) {
                // A broken pipe means the same as end of file.
            }
            System.exit(0);
        }, "stdin-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        proxy.join();
    }
}
