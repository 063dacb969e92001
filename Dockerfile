# syntax=docker/dockerfile:1
# Automator's images, from the repository root:
#   docker build -t automator-silo .                          # the silo (co-hosts the API and dashboard unless told not to)
#   docker build --target webapi -t automator-webapi .        # the HTTP API alone, an Orleans client of the silos
#   docker build --target dashboard -t automator-dashboard .  # the dashboard (SignalR hub + web UI) alone, a client too
# Each runs as a numeric non-root user, listens on 8080 (the silo also on 11111 and 30000), and writes nothing outside
# /tmp, so it runs with a read-only root filesystem and an emptyDir on /tmp (see k8s/ and docs/operations.md).

ARG DOTNET_VERSION=10.0
ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS node

# Build stage: the .NET SDK, with Node copied in to build the dashboard's web UI (Vite wants Node 20.19+ or 22.12+).
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version
WORKDIR /src

# Restore from the project files alone, so that a change of code reuses the restored packages.
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY Grains.Abstractions/Grains.Abstractions.csproj Grains.Abstractions/
COPY Grains/Grains.csproj Grains/
COPY WebApi/WebApi.csproj WebApi/
COPY Dashboard/Dashboard.csproj Dashboard/
COPY Silo/Silo.csproj Silo/
RUN dotnet restore Silo/Silo.csproj

COPY Dashboard/ClientApp/package.json Dashboard/ClientApp/package-lock.json Dashboard/ClientApp/
RUN cd Dashboard/ClientApp && npm ci --no-audit --no-fund --loglevel=error

COPY . .
# The web UI lands in Dashboard/wwwroot/app, which the Silo and Dashboard publish with their output.
RUN cd Dashboard/ClientApp && npm run build --silent
RUN dotnet publish Silo/Silo.csproj -c Release --no-restore -o /out/silo -p:UseAppHost=false \
 && dotnet publish WebApi/WebApi.csproj -c Release --no-restore -o /out/webapi -p:UseAppHost=false \
 && dotnet publish Dashboard/Dashboard.csproj -c Release --no-restore -o /out/dashboard -p:UseAppHost=false \
 && test -n "$(find /out/silo /out/dashboard -path '*app/index.html' | head -n 1)"

# Runtime: the ASP.NET image. The files stay owned by root and read-only to the process; APP_UID (1654) is the image's
# own non-root user, given by number so that Kubernetes can check runAsNonRoot.
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS runtime
WORKDIR /app
# An environment variable outranks the silo's appsettings.json "Urls" (loopback only); the outbox provider and anything
# that writes under HOME land in /tmp.
ENV Urls=http://+:8080 \
    HOME=/tmp \
    Automator__Outbox__Path=/tmp/outbox \
    DOTNET_NOLOGO=1
EXPOSE 8080
USER $APP_UID

FROM runtime AS webapi
COPY --from=build /out/webapi /app
ENTRYPOINT ["dotnet", "Automator.WebApi.dll"]

FROM runtime AS dashboard
COPY --from=build /out/dashboard /app
ENTRYPOINT ["dotnet", "Automator.Dashboard.dll"]

# Last, so that a plain `docker build .` makes the silo.
FROM runtime AS silo
COPY --from=build /out/silo /app
EXPOSE 11111 30000
ENTRYPOINT ["dotnet", "Automator.Silo.dll"]
