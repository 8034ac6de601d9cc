import { subcommandOf } from './cli-check.ts';
import { asArray, commandWords, isBellowsImage, isObject, runs, type BellowsProcess, type DeployFiles, type Image, type Port, type Probe } from './deploy-model.ts';

/**
 * Kubernetes manifests: each container of the bellows image in a pod (template) of any workload,
 * with its env; for a server its container ports, HTTP probes, the Services that select its pod
 * and its Prometheus scrape port; for `start`, the playbook its ConfigMap volume provides.
 */
interface PodTemplate {
  where: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Record<string, unknown>;
}

interface Context {
  file: string;
  image: Image;
  out: DeployFiles;
  /** The ports of the Services that select each pod of the file. */
  servicePorts: Map<PodTemplate, Array<{ where: string; target: unknown }>>;
  configMaps: Map<string, Record<string, string>>;
}

export function readKubernetes(docs: Array<Record<string, unknown>>, file: string, image: Image, out: DeployFiles): void {
  const name = (doc: Record<string, unknown>) => `${doc.kind}/${(doc.metadata as { name?: string } | undefined)?.name}`;
  const pods = docs.flatMap((doc) => podTemplates(doc, name(doc)));
  const configMaps = new Map(docs.filter((doc) => doc.kind === 'ConfigMap').map((doc) => [String((doc.metadata as { name?: string }).name), (doc.data ?? {}) as Record<string, string>]));
  const servicePorts = new Map<PodTemplate, Array<{ where: string; target: unknown }>>();
  for (const service of docs.filter((doc) => doc.kind === 'Service')) {
    const spec = service.spec as { selector?: Record<string, string>; ports?: Array<{ port: number; targetPort?: string | number; name?: string }> };
    const selector = Object.entries(spec.selector ?? {});
    const matching = pods.filter((pod) => selector.length > 0 && selector.every(([k, v]) => pod.labels[k] === v));
    if (matching.length === 0) out.strays.push(`${file} ${name(service)}: selects no pod of this file`);
    for (const pod of matching) {
      const ports = (spec.ports ?? []).map((p) => ({ where: `${name(service)} port ${p.name ?? p.port} targetPort`, target: p.targetPort ?? p.port }));
      servicePorts.set(pod, [...(servicePorts.get(pod) ?? []), ...ports]);
    }
  }
  const context: Context = { file, image, out, servicePorts, configMaps };
  for (const pod of pods) {
    const containers = [...asArray(pod.spec.initContainers), ...asArray(pod.spec.containers)].filter(isObject);
    const processes = containers.flatMap((container) => readContainer(container, pod, context));
    out.processes.push(...processes);
    if (processes.some((p) => subcommandOf(p.argv) === 'serve')) continue;
    if (servicePorts.has(pod)) out.strays.push(`${file} ${pod.where}: a Service selects it, but it serves nothing`);
    if (pod.annotations['prometheus.io/scrape'] === 'true') out.strays.push(`${file} ${pod.where}: scraped by Prometheus, but it serves nothing`);
  }
}

/** The bellows processes of one container: its command (or the image's) with the pod's view of it. */
function readContainer(container: Record<string, unknown>, pod: PodTemplate, { file, image, out, servicePorts, configMaps }: Context): BellowsProcess[] {
  const where = `${pod.where} container ${container.name}`;
  const bellows = isBellowsImage(container.image);
  // Kubernetes' rule: `command` replaces the image's ENTRYPOINT and then its CMD too; `args` replaces CMD.
  const command = commandWords(container.command);
  const args = commandWords(container.args) ?? (command ? [] : bellows ? image.cmd : undefined);
  const words = [...(command ?? (bellows ? image.entrypoint : undefined) ?? []), ...(args ?? [])];
  const found = runs(words);
  if (bellows && found.length === 0) out.unread.push(`${file} ${where}`);

  const named = new Map(asArray(container.ports).filter(isObject).map((p) => [String(p.name), Number(p.containerPort)]));
  const port = (target: unknown, at: string): Port => ({ where: at, port: /^\d+$/.test(String(target)) ? Number(target) : named.get(String(target)) ?? null });
  const probes: Probe[] = [];
  const ports: Port[] = asArray(container.ports).filter(isObject).map((p) => ({ where: `${where} containerPort ${p.name ?? ''}`.trim(), port: Number(p.containerPort) }));
  for (const kind of ['liveness', 'readiness', 'startup'] as const) {
    const get = (container[`${kind}Probe`] as { httpGet?: { path?: string; port?: unknown } } | undefined)?.httpGet;
    if (!get) continue;
    probes.push({ where: `${where} ${kind}Probe`, kind, path: get.path ?? '/' });
    ports.push(port(get.port, `${where} ${kind}Probe port`));
  }
  ports.push(...(servicePorts.get(pod) ?? []).map((s) => port(s.target, s.where)));
  const scraped = pod.annotations['prometheus.io/port'];
  if (scraped) ports.push({ where: `${pod.where} annotation prometheus.io/port`, port: Number(scraped) });

  // $(NAME) in the arguments is Kubernetes' substitution: such a variable exists to build a flag's value.
  const substituted = new Set([...words.join(' ').matchAll(/(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]));
  const env = new Map<string, string | undefined>(
    asArray(container.env).filter(isObject).filter((e) => !substituted.has(String(e.name))).map((e) => [String(e.name), typeof e.value === 'string' ? e.value : undefined]),
  );
  return found.map((run) => {
    const subcommand = subcommandOf(run.argv);
    if (subcommand !== 'serve' && probes.length) out.strays.push(`${file} ${where}: HTTP probes on bellows ${subcommand}, which serves no HTTP`);
    return {
      file,
      where,
      argv: run.argv,
      env: new Map([...env, ...run.assignments]),
      inContainer: true,
      ports: subcommand === 'serve' ? ports : [],
      probes: subcommand === 'serve' ? probes : [],
      playbook: subcommand === 'start' ? mountedPlaybook(run.argv, container, pod, configMaps) : undefined,
    };
  });
}

/** Pods and pod templates anywhere in a document: Pod, Deployment, Job, CronJob, … */
function podTemplates(node: unknown, where: string): PodTemplate[] {
  if (!isObject(node)) return [];
  const spec = node.spec;
  if (isObject(spec) && Array.isArray(spec.containers)) {
    const metadata = (node.metadata ?? {}) as { labels?: Record<string, string>; annotations?: Record<string, string> };
    return [{ where, labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {}, spec }];
  }
  return Object.values(node).flatMap((child) => podTemplates(child, where));
}

/** The file a `start` reads, when it lies in a volume made from a ConfigMap of the same file. */
function mountedPlaybook(argv: string[], container: Record<string, unknown>, pod: PodTemplate, configMaps: Map<string, Record<string, string>>): BellowsProcess['playbook'] {
  const path = argv.find((a) => /\.(ya?ml|json)$/.test(a));
  if (!path) return undefined;
  for (const mount of asArray(container.volumeMounts).filter(isObject)) {
    const dir = String(mount.mountPath).replace(/\/$/, '');
    if (!path.startsWith(`${dir}/`)) continue;
    const volume = asArray(pod.spec.volumes).filter(isObject).find((v) => v.name === mount.name);
    const configMap = volume && isObject(volume.configMap) ? String(volume.configMap.name) : undefined;
    const key = path.slice(dir.length + 1);
    return { path, configMapKey: `${configMap}/${key}`, text: configMap ? configMaps.get(configMap)?.[key] : undefined };
  }
  return { path, configMapKey: '(no volume mounted there)', text: undefined };
}
